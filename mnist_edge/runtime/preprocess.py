"""Turn any picture of a digit into the 784 float32 values the models expect.

MNIST digits are light strokes on a black background, scaled so the longer
side of the digit is 20 px, and centred by centre of mass in a 28×28 field.
Real pictures are usually dark ink on light paper, any size, anywhere in the
frame. ``preprocess`` reproduces MNIST's normalisation on them:

1. decode (first frame, EXIF orientation applied), composite alpha on white;
2. convert to gray in [0, 1];
3. decide polarity from the border (paper) and invert dark-on-light;
4. stretch contrast between paper and ink, find the ink with Otsu's threshold;
5. crop to the ink, scale the longer side to 20 px keeping the aspect ratio;
6. paste into 28×28 so the centre of mass sits at the centre.

An image that already looks like an MNIST digit passes through unchanged.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ..errors import ImageError, first_line

ImageSource = str | os.PathLike | bytes | Image.Image | np.ndarray

SIDE = 28
DIGIT_BOX = 20
MAX_PIXELS = 50_000_000  # larger declared sizes are refused (decompression bombs)
MAX_FILE_BYTES = 50 * 1024 * 1024
MIN_CONTRAST = 0.1  # ink must differ from paper by at least this much (of full scale)


def preprocess(source: ImageSource) -> np.ndarray:
    """Return a float32 vector of 784 values in [0, 1] for one image; ImageError names the file."""
    try:
        return normalize_digit(to_gray(source)).reshape(-1)
    except ImageError as e:
        if e.path is None and isinstance(source, (str, os.PathLike)):
            raise ImageError(e.reason, path=str(source)) from None
        raise


# --- decoding -------------------------------------------------------------------------------


def load_image(source: str | os.PathLike | bytes | Image.Image) -> Image.Image:
    """Open a path, bytes or PIL image; the first frame, upright, fully decoded."""
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            raise ImageError("is a directory (with no image files)")
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise ImageError(f"file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit")
            data = path.read_bytes()
        except OSError as e:
            raise ImageError(e.strerror or str(e)) from None
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        raise ImageError(f"cannot read an image from {type(source).__name__}")
    if not data:
        raise ImageError("empty file")
    try:
        with warnings.catch_warnings():  # our own limit, below Pillow's, is checked next
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))  # reads the header only
        if img.width * img.height > MAX_PIXELS:
            raise ImageError(f"image is {img.width}x{img.height}, over the {MAX_PIXELS}-pixel limit")
        img.seek(0)
        img.load()
        return ImageOps.exif_transpose(img)
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageError(f"image dimensions are over the {MAX_PIXELS}-pixel limit") from None
    except Exception as e:  # Pillow raises many types for damaged files
        raise ImageError(f"not a readable image ({_plain(first_line(e), source)})") from None


def to_gray(source: ImageSource) -> np.ndarray:
    """Any supported source → 2-D float32 array in [0, 1] (0 black, 1 white)."""
    try:
        if isinstance(source, np.ndarray):
            return _array_to_gray(source)
        return _image_to_gray(load_image(source))
    except ImageError:
        raise
    except Exception as e:  # an odd mode or dtype that Pillow/numpy cannot convert
        raise ImageError(f"cannot convert to grayscale ({type(e).__name__}: {_plain(first_line(e), source)})") from None


_OBJECT_REPR = re.compile(r"(?:image file )?<[^<>]*? at 0x[0-9a-fA-F]+>")


def _plain(message: str, source) -> str:
    """Replace Python object reprs (``<_io.BytesIO object at 0x…>``) with what the user handed over."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        what = "the image bytes"
    elif isinstance(source, Image.Image):
        what = "the PIL image"
    elif isinstance(source, np.ndarray):
        what = "the numpy array"
    else:
        what = "image file"  # the error line names the path already
    return _OBJECT_REPR.sub(what, message)


def _image_to_gray(img: Image.Image) -> np.ndarray:
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.nan_to_num(np.asarray(img, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        top = 1.0 if img.mode == "F" and arr.max(initial=0) <= 1 else 65535.0 if arr.max(initial=0) > 255 else 255.0
        return np.clip(arr / top, 0, 1).astype(np.float32)
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    return np.asarray(img.convert("L"), dtype=np.float32) / 255.0


def _array_to_gray(arr: np.ndarray) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.ndim == 1 and arr.size == SIDE * SIDE:
        arr = arr.reshape(SIDE, SIDE)
    if arr.ndim == 3 and arr.shape[-1] in (1, 3, 4):
        arr = arr[..., :3].mean(axis=-1) if arr.shape[-1] != 1 else arr[..., 0]
    if arr.ndim != 2 or arr.size == 0:
        raise ImageError(f"array of shape {arr.shape} is not an image")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    arr = arr.astype(np.float32)
    if not np.isfinite(arr).all():
        raise ImageError("array holds NaN or infinite values")
    if arr.max(initial=0) > 1.0:
        arr = arr / 255.0
    return np.clip(arr, 0, 1)


# --- MNIST-style normalisation ----------------------------------------------------------------


def normalize_digit(gray: np.ndarray) -> np.ndarray:
    """2-D gray image in [0, 1] → 28×28 float32 MNIST-style digit (light on dark)."""
    ink = _ink_high(gray)
    if looks_like_mnist(ink):
        return ink.astype(np.float32)
    border_level = float(np.median(_border(ink)))
    top = float(np.percentile(ink, 99.5)) if ink.size > 200 else float(ink.max())
    if top - border_level < MIN_CONTRAST:
        raise ImageError("no digit found (blank image)")
    ink = np.clip((ink - border_level) / (top - border_level), 0, 1)
    threshold = otsu_threshold(ink)
    mask = ink > threshold
    if not mask.any():
        raise ImageError("no digit found (blank image)")
    ink = np.where(ink > threshold / 2, ink, 0).astype(np.float32)  # drop paper texture
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return _center_by_mass(_fit_box(crop, DIGIT_BOX))


def _ink_high(gray: np.ndarray) -> np.ndarray:
    """Return the image with ink bright: invert when the border (paper) is lighter than mid-gray."""
    return 1.0 - gray if float(np.median(_border(gray))) > 0.5 else gray


def looks_like_mnist(ink: np.ndarray) -> bool:
    """28×28, dark background, ink roughly centred: already normalised (MNIST digits may touch the edge)."""
    if ink.shape != (SIDE, SIDE) or float(np.median(_border(ink))) > 0.1:
        return False
    total = float(ink.sum())
    if total <= 0:
        return False
    ys, xs = np.indices(ink.shape)
    cy, cx = float((ys * ink).sum() / total), float((xs * ink).sum() / total)
    return abs(cy - (SIDE - 1) / 2) <= 2.0 and abs(cx - (SIDE - 1) / 2) <= 2.0


def otsu_threshold(values: np.ndarray, bins: int = 64) -> float:
    """Otsu's threshold on values in [0, 1], kept within [0.2, 0.6] to stay sane on odd images."""
    hist, edges = np.histogram(values, bins=bins, range=(0.0, 1.0))
    hist = hist.astype(np.float64)
    centers = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centers)
    mean0 = np.divide(m0, w0, out=np.zeros_like(m0), where=w0 > 0)
    mean1 = np.divide(m0[-1] - m0, w1, out=np.zeros_like(m0), where=w1 > 0)
    between = w0 * w1 * (mean0 - mean1) ** 2
    return float(np.clip(edges[1:][int(np.argmax(between))], 0.2, 0.6))


def _border(a: np.ndarray) -> np.ndarray:
    if min(a.shape) < 3:
        return a.reshape(-1)
    return np.concatenate([a[0], a[-1], a[1:-1, 0], a[1:-1, -1]])


def _fit_box(crop: np.ndarray, box: int) -> np.ndarray:
    h, w = crop.shape
    scale = box / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    resized = Image.fromarray(crop.astype(np.float32), mode="F").resize(size, resample)
    return np.clip(np.asarray(resized, dtype=np.float32), 0, 1)


def _center_by_mass(digit: np.ndarray) -> np.ndarray:
    h, w = digit.shape
    total = float(digit.sum())
    ys, xs = np.indices(digit.shape)
    cy = float((ys * digit).sum() / total) if total > 0 else (h - 1) / 2
    cx = float((xs * digit).sum() / total) if total > 0 else (w - 1) / 2
    top = int(round((SIDE - 1) / 2 - cy))
    left = int(round((SIDE - 1) / 2 - cx))
    # keep the whole digit in the field even if its mass is far off its box centre
    top = min(max(top, 0), SIDE - h)
    left = min(max(left, 0), SIDE - w)
    field = np.zeros((SIDE, SIDE), dtype=np.float32)
    field[top : top + h, left : left + w] = digit
    peak = float(field.max())
    return field / peak if peak > 0 else field
