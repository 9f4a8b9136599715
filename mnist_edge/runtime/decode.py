"""Read a picture as 8-bit gray at the scale the answer needs, with hard limits on bytes and pixels.

Large JPEGs are decoded at 1/2, 1/4 or 1/8 of their size (libjpeg scales while it decodes, which
costs a fraction of a full decode), straight to gray, so a 12 MP photo never exists as a full-size
array. Other formats are decoded whole (within the limits) and reduced. The result is a
``Picture``: a working gray image (ink may be dark or light) plus what is needed to map boxes
back to the original pixels and to decode a finer view of one region when a digit is small.
"""

from __future__ import annotations

import io
import os
import re
import stat
import struct
import warnings
import zlib
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from ..contract import SIDE
from ..errors import ImageError, first_line
from ..quiet import c_stderr_muted

try:  # libjpeg-turbo's TurboJPEG API, which never prints; a dependency (Pillow's path if it cannot load)
    import simplejpeg
except ImportError:  # pragma: no cover - a platform without its wheel
    simplejpeg = None

ImageSource = str | os.PathLike | bytes | bytearray | memoryview | Image.Image | np.ndarray

MAX_FILE_BYTES = 50 * 1024 * 1024  # larger files are refused before reading
MAX_PIXELS = 50_000_000  # larger declared sizes are refused before decoding (decompression bombs)
MAX_DECODED_BYTES = (
    128 * 1024 * 1024
)  # declared pixels × bytes per pixel of the decoded mode (a 6000×6000 RGBA PNG is over)
MAX_ASPECT = 50  # a picture longer than this times its width (or the reverse) holds no digit
MIN_CONTRAST = 16  # gray levels: a transparent picture with less on white than this is looked at on black
WORK_MIN_SHORT = 200  # the working image keeps at least this short side (when the picture has it)

cv2.setNumThreads(1)  # pictures are small: OpenCV's own thread pool only adds overhead and contention
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # errors reach the user as ImageError

_BYTES_PER_PIXEL = {
    "1": 1,
    "L": 1,
    "P": 1,
    "LA": 2,
    "La": 2,
    "PA": 2,
    "I;16": 2,
    "I;16B": 2,
    "I;16L": 2,
    "RGB": 3,
    "YCbCr": 3,
    "LAB": 3,
    "HSV": 3,
    "RGBA": 4,
    "RGBa": 4,
    "RGBX": 4,
    "CMYK": 4,
    "I": 4,
    "F": 4,
}
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass
class Picture:
    """A decoded picture: ``gray`` (uint8, for finding the digit) at ``scale`` original pixels per pixel.

    ``fine`` is the same picture as decoded, at least twice as fine as ``gray`` when the picture has
    the pixels (the digit is cropped from it); ``data`` keeps a JPEG's bytes to decode finer still.
    """

    gray: np.ndarray
    scale: float
    size: tuple[int, int]  # the original (width, height), upright
    fine: np.ndarray
    data: bytes | None = None
    orientation: int = 1  # a JPEG's EXIF orientation (``data`` is decoded again for ``finer``)
    turbo: bool = False  # decoded through TurboJPEG (``_turbo_jpeg``), and so is a finer view

    @property
    def stored_size(self) -> tuple[int, int]:
        """(width, height) as stored in the file, before the EXIF orientation."""
        return self.size[::-1] if self.orientation in (5, 6, 7, 8) else self.size

    @property
    def fine_scale(self) -> float:
        return self.size[0] / self.fine.shape[1]

    def finer(self, factor: float) -> tuple[np.ndarray, float]:
        """A gray view at least ``factor`` times finer than ``gray`` when the picture has it: (image, scale).

        ``fine`` when it is fine enough (or nothing finer exists); else a JPEG decoded again at the
        scale needed (only for digits too small to read in ``fine``).
        """
        if self.data is None or self.scale / self.fine_scale >= factor or self.fine_scale <= 1:
            return self.fine, self.fine_scale
        target = max(1.0, self.scale / factor)
        if self.turbo:
            w, h = self.stored_size
            scale = _draft_scale(w, h, int(w / target), int(h / target))
            gray = _turbo_gray(self.data, (w, h), scale, self.orientation)
            if gray is not None:
                return gray, self.size[0] / gray.shape[1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # as when the picture was first decoded (odd EXIF)
            img = _open(self.data)
            img.draft("L", (int(img.size[0] / target), int(img.size[1] / target)))
            gray = _upright(img, _gray_of(img))
        return gray, self.size[0] / gray.shape[1]


def read_bytes(path: str | os.PathLike) -> bytes:
    """The bytes of a regular file of at most MAX_FILE_BYTES; FIFOs, devices and folders are refused."""
    try:
        with open(path, "rb", opener=_nonblocking) as f:
            mode = os.fstat(f.fileno())
            if stat.S_ISDIR(mode.st_mode):
                raise ImageError("is a directory (with no image files)")
            if not stat.S_ISREG(mode.st_mode):
                raise ImageError("not a regular file (a pipe, socket or device)")
            if mode.st_size > MAX_FILE_BYTES:
                raise ImageError(f"file is {mode.st_size} bytes, over the {MAX_FILE_BYTES}-byte limit")
            data = f.read(MAX_FILE_BYTES + 1)
    except IsADirectoryError:
        raise ImageError("is a directory (with no image files)") from None
    except OSError as e:
        raise ImageError(e.strerror or str(e)) from None
    if len(data) > MAX_FILE_BYTES:
        raise ImageError(f"file is over the {MAX_FILE_BYTES}-byte limit")
    return data


def _nonblocking(path, flags):
    return os.open(path, flags | os.O_NONBLOCK)  # opening a FIFO must not wait for a writer


def decode(source: ImageSource) -> Picture:
    """Any supported source → ``Picture``; every failure is an ImageError with a one-line reason."""
    if type(source) is bytes:  # the most common source first (a served or batched picture)
        return _from_bytes(source)
    if isinstance(source, np.ndarray):
        return _from_array(source)
    if isinstance(source, Image.Image):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _from_image(source, None)
    if isinstance(source, (str, os.PathLike)):
        data = read_bytes(source)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        raise ImageError(f"cannot read an image from {type(source).__name__}")
    return _from_bytes(data)


def _from_bytes(data: bytes) -> Picture:
    if not data:
        raise ImageError("empty file")
    if len(data) > MAX_FILE_BYTES:
        raise ImageError(f"image data is over the {MAX_FILE_BYTES}-byte limit")
    plain = _plain_gray_png(data)
    if plain is not None:
        return plain
    if simplejpeg is not None and data[:3] == b"\xff\xd8\xff":
        turbo = _turbo_jpeg(data)
        if turbo is not None:
            return turbo
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's warnings (its own bomb limit, odd EXIF): our limits apply
        return _from_image(_open(data), data)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# signature, IHDR's length and type, width, height, bit depth + colour type, (3 bytes), IHDR's CRC,
# then the next chunk's length and type: the first 41 bytes of a PNG in one unpacking
_PNG_HEAD = struct.Struct(">8sI4sII2s3xII4s")
_PNG_HEAD_BYTES = _PNG_HEAD.size + 16  # the head, an empty IDAT's CRC and the 12-byte IEND chunk
_IEND_CHUNK = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # length 0, type, CRC: the same bytes in every PNG
# the EXIF orientation is left alone: a PNG with an eXIf chunk never gets here (``_walk_png_chunks``)
_PLAIN_PNG_FLAGS = cv2.IMREAD_GRAYSCALE | cv2.IMREAD_IGNORE_ORIENTATION


def _plain_gray_png(data: bytes) -> Picture | None:
    """The common case of a scanned or MNIST-style digit, 5× faster than through Pillow: an intact 8-bit
    gray PNG with no transparency and no EXIF block decodes straight to the array (anything else: None).

    Intact means every chunk's CRC checks and the file ends with IEND: a damaged file goes to Pillow,
    which says why in one line (the PNG library under OpenCV would print to stderr instead).
    """
    size = _gray_png_size(data)
    if size is None:
        return None
    w, h = size
    _check_size(w, h, "L")
    gray = cv2.imdecode(np.frombuffer(data, np.uint8), _PLAIN_PNG_FLAGS)
    if gray is None or gray.shape != (h, w):
        return None
    work = _reduce(gray)
    return Picture(work, w / work.shape[1], size, gray)


def _gray_png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of an intact 8-bit gray PNG without a tRNS or eXIf chunk; None for anything else.

    The common layout (IHDR, one IDAT, IEND: every MNIST-style PNG here) is checked from one unpacking
    of the head and two CRCs, without the chunk walk: on a 28 px picture each Python step costs about
    as much as OpenCV's decode of its pixels.
    """
    if len(data) < _PNG_HEAD_BYTES:
        return None
    signature, ihdr_length, ihdr, w, h, kind, ihdr_crc, length, chunk = _PNG_HEAD.unpack_from(data)
    if signature != _PNG_SIGNATURE or ihdr != b"IHDR" or kind != b"\x08\x00":  # 8-bit gray
        return None
    end = _PNG_HEAD.size + length  # where the chunk after IHDR ends, before its CRC
    if ihdr_length == 13 and chunk == b"IDAT" and len(data) == end + 16 and data.endswith(_IEND_CHUNK):
        crc = int.from_bytes(data[end : end + 4], "big")
        return (w, h) if zlib.crc32(data[12:29]) == ihdr_crc and zlib.crc32(data[37:end]) == crc else None
    return (w, h) if _walk_png_chunks(data) else None


def _walk_png_chunks(data: bytes) -> bool:
    pos, end = 8, len(data)
    while pos + 12 <= end:
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        stop = pos + 12 + length
        if stop > end or kind in (b"tRNS", b"eXIf"):
            return False
        if zlib.crc32(data[pos + 4 : stop - 4]) != int.from_bytes(data[stop - 4 : stop], "big"):
            return False
        if kind == b"IEND":
            return stop == end
        pos = stop
    return False


def _open(data: bytes) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data))  # reads the header only
    except Image.DecompressionBombError:
        raise ImageError(f"image dimensions are over the {MAX_PIXELS}-pixel limit") from None
    except Exception as e:  # Pillow raises many types for damaged files
        if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
            raise ImageError(
                "a HEIC/HEIF or AVIF picture (a phone's photo format), not supported: save it as JPEG or PNG"
            ) from None
        raise _unreadable(e) from None


# ISO media file brands of HEIC/HEIF and AVIF pictures (the 'ftyp' box at byte 4), which Pillow cannot open
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}


def _from_image(img: Image.Image, data: bytes | None) -> Picture:
    w, h = img.size
    _check_size(w, h, img.mode)
    jpeg = img.format == "JPEG" and data is not None
    try:
        if jpeg:  # decode at 1/2, 1/4 or 1/8 (libjpeg scales while decoding), luminance only
            scale = _jpeg_reduction(w, h)
            img.draft("L", (w // scale, h // scale))
        if img.format == "TIFF":
            with c_stderr_muted():  # libtiff prints its complaints about damaged files to stderr itself
                fine = _upright(img, _gray_of(img))
        else:
            fine = _upright(img, _gray_of(img))
    except ImageError:
        raise
    except Exception as e:
        raise _unreadable(e) from None
    width, height = _upright_size(img, w, h)
    gray = _reduce(fine)
    return Picture(gray, width / gray.shape[1], (width, height), fine, data if jpeg else None, _orientation(img))


def _turbo_jpeg(data: bytes) -> Picture | None:
    """A gray or YCbCr JPEG's luminance at the working scale through TurboJPEG (``simplejpeg``), or None.

    The same pixels as Pillow's draft decode (both are libjpeg-turbo's scaled IDCT), ≈ 0.1–0.15 of a
    640×480 photo's full decode less (Pillow's loader and header walk in Python). Anything it does
    not decode without a complaint (damaged data, CMYK, an odd EXIF block, a size over the limits)
    returns None and goes to Pillow, which reads or refuses it as before; TurboJPEG keeps its
    warnings instead of printing them, so nothing reaches stderr and no file descriptor is touched.
    """
    try:
        h, w, colorspace, _ = simplejpeg.decode_jpeg_header(data)
    except ValueError:
        return None
    if colorspace not in ("Gray", "YCbCr"):
        return None
    try:
        _check_size(w, h, "L" if colorspace == "Gray" else "RGB")  # Pillow's modes for them
    except ImageError:
        return None  # Pillow's path says why, as before
    orientation = 1
    if _exif_in_header(data):  # the orientation from Pillow's header parse (phone photos carry one)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a damaged EXIF block is read as no orientation, silently
            try:
                orientation = _orientation(_open(data))
            except ImageError:
                return None
    fine = _turbo_gray(data, (w, h), _jpeg_reduction(w, h), orientation)
    if fine is None:
        return None
    width, height = (h, w) if orientation in (5, 6, 7, 8) else (w, h)
    gray = _reduce(fine)
    return Picture(gray, width / gray.shape[1], (width, height), fine, data, orientation, turbo=True)


def _exif_in_header(data: bytes) -> bool:
    """Whether a JPEG's header (its segments before the scan) holds an EXIF block; True when the header
    cannot be walked, so that Pillow's parse decides. Walking a handful of segments costs ≈ 1 µs, where
    looking for b"Exif" in the whole file cost 5–25 µs (it scanned every byte of a photo without one)."""
    at, end = 2, len(data)
    while at + 4 <= end:
        if data[at] != 0xFF:
            return True  # not a marker where one must be: damaged, let Pillow say
        marker = data[at + 1]
        if marker == 0xFF:  # a fill byte before the marker
            at += 1
        elif marker == 0xDA:  # start of scan: the header is over
            return False
        elif 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            at += 2
        elif marker == 0xE1 and data[at + 4 : at + 8] == b"Exif":
            return True
        else:
            at += 2 + int.from_bytes(data[at + 2 : at + 4], "big")
    return True


def _jpeg_reduction(w: int, h: int) -> int:
    """How much a JPEG is reduced while it is decoded (1, 2, 4 or 8): as much as keeps WORK_MIN_SHORT."""
    scale = 1
    while scale < 8 and min(w, h) // (scale * 2) >= WORK_MIN_SHORT:
        scale *= 2
    return scale


def _turbo_gray(data: bytes, stored: tuple[int, int], scale: int, orientation: int) -> np.ndarray | None:
    """The luminance of a gray or YCbCr JPEG (``stored``: its width and height in the file) at
    1/``scale`` (1, 2, 4 or 8), upright, through TurboJPEG; None when simplejpeg cannot load or complains."""
    if simplejpeg is None:
        return None
    w, h = stored
    size = (-(-h // scale), -(-w // scale))  # libjpeg's scaled size, rounded up as in Pillow's draft
    try:
        gray = simplejpeg.decode_jpeg(data, colorspace="GRAY", min_height=size[0], min_width=size[1], strict=True)
    except ValueError:  # damaged data, even a recoverable warning: Pillow's path decides
        return None
    if gray.shape[:2] != size:
        return None
    gray = gray.reshape(size)
    method = _TRANSPOSE.get(orientation)
    return gray if method is None else np.asarray(Image.fromarray(gray).transpose(method))


def _draft_scale(w: int, h: int, want_w: int, want_h: int) -> int:
    """The reduction Pillow's JPEG ``draft`` picks for a requested size: the largest of 8, 4, 2, 1 that
    leaves at least that size."""
    most = min(w // max(1, want_w), h // max(1, want_h))
    return next(s for s in (8, 4, 2, 1) if most >= s)


_OBJECT_REPR = re.compile(r"(?:image file )?<[^<>]*? at 0x[0-9a-fA-F]+>")


def _unreadable(error: Exception) -> ImageError:
    """One line for a decoder failure, without Python object reprs (``<_io.BytesIO object at 0x…>``)."""
    return ImageError(f"not a readable image ({_OBJECT_REPR.sub('the image bytes', first_line(error))})")


def _check_size(w: int, h: int, mode: str) -> None:
    if w < 1 or h < 1:
        raise ImageError(f"image is {w}x{h}: empty")
    if w * h > MAX_PIXELS:
        raise ImageError(f"image is {w}x{h}, over the {MAX_PIXELS}-pixel limit")
    decoded = w * h * _BYTES_PER_PIXEL.get(mode, 4)
    if decoded > MAX_DECODED_BYTES:
        raise ImageError(f"image is {w}x{h} {mode}, {decoded} bytes decoded, over the {MAX_DECODED_BYTES}-byte limit")
    if max(w, h) > MAX_ASPECT * min(w, h) and min(w, h) < SIDE:
        raise ImageError(f"image is {w}x{h}: too thin to hold a digit")


def _gray_of(img: Image.Image) -> np.ndarray:
    """The first frame as uint8 gray; transparency composited on white, 16-bit and float scaled."""
    img.seek(0)
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float32)
        arr = np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)
        top = float(arr.max(initial=0))
        full_scale = 1.0 if mode == "F" and top <= 1 else 65535.0 if top > 255 else 255.0
        return np.clip(arr * (255.0 / full_scale), 0, 255).astype(np.uint8)
    if mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info:
        rgba = np.asarray(img.convert("RGBA"))
        return _over_white(cv2.cvtColor(np.ascontiguousarray(rgba[..., :3]), cv2.COLOR_RGB2GRAY), rgba[..., 3])
    if mode != "L":
        img = img.convert("L")
    return np.asarray(img)


def _over_white(gray: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Composite a gray image with an alpha channel on white paper (transparent reads as paper).

    Light ink on a transparent canvas (white strokes drawn for a dark page, as many MNIST drawing
    pads do) vanishes on white: when the composite is blank but the alpha channel is not, the
    picture is composited on black instead, where that ink shows.
    """
    g = gray.astype(np.uint16) * alpha + 255 * (255 - alpha.astype(np.uint16))
    on_white = ((g + 127) // 255).astype(np.uint8)
    if _spread(on_white) >= MIN_CONTRAST or _spread(alpha) < MIN_CONTRAST:
        return on_white
    return ((gray.astype(np.uint16) * alpha + 127) // 255).astype(np.uint8)


def _spread(a: np.ndarray) -> int:
    low, high, _, _ = cv2.minMaxLoc(a)
    return int(high - low)


def _orientation(img: Image.Image) -> int:
    if "exif" not in img.info and img.format not in ("TIFF", "MPO"):
        return 1  # no EXIF block: skip parsing one
    try:
        return int(img.getexif().get(0x0112, 1))
    except Exception:  # a damaged EXIF block is no reason to refuse the picture
        return 1


def _upright(img: Image.Image, gray: np.ndarray) -> np.ndarray:
    method = _TRANSPOSE.get(_orientation(img))
    if method is None:
        return np.ascontiguousarray(gray)
    return np.asarray(Image.fromarray(gray).transpose(method))


def _upright_size(img: Image.Image, w: int, h: int) -> tuple[int, int]:
    return (h, w) if _orientation(img) in (5, 6, 7, 8) else (w, h)


def _reduce(gray: np.ndarray) -> np.ndarray:
    """Halve (by area) while the short side stays at least WORK_MIN_SHORT."""
    h, w = gray.shape
    k = 1
    while min(h, w) // (k * 2) >= WORK_MIN_SHORT:
        k *= 2
    if k == 1:
        return gray
    return cv2.resize(gray, (w // k, h // k), interpolation=cv2.INTER_AREA)


def _from_array(arr: np.ndarray) -> Picture:
    """numpy input: (28, 28), (784,), (1, 784), (1, 28, 28) are one digit; (H, W), (H, W, 1|3|4) pictures."""
    a = np.asarray(arr)
    if a.dtype.kind not in "uifb":
        raise ImageError(f"array of dtype {a.dtype} is not an image")
    if a.shape in ((SIDE * SIDE,), (1, SIDE * SIDE), (1, SIDE, SIDE), (1, SIDE, SIDE, 1)):
        a = a.reshape(SIDE, SIDE)
    elif (a.ndim == 2 and a.shape[1] == SIDE * SIDE) or (a.ndim == 3 and a.shape[1:] == (SIDE, SIDE)):
        raise ImageError(f"array of shape {a.shape} looks like {a.shape[0]} digits: pass one at a time")
    elif a.ndim == 1 or (a.ndim == 2 and 1 in a.shape and a.size > 1):
        raise ImageError(
            f"array of shape {a.shape} is ambiguous: pass one digit as (28, 28) or (784,), a picture as (H, W)"
        )
    if a.ndim == 3 and a.shape[-1] in (1, 3, 4):
        pass
    elif a.ndim != 2:
        raise ImageError(f"array of shape {a.shape} is not an image (expected (H, W) or (H, W, 1|3|4))")
    h, w = a.shape[:2]
    _check_size(w, h, "F")
    a = a.astype(np.float32) if a.dtype != np.uint8 else a
    if a.dtype != np.uint8:
        if not np.isfinite(a).all():
            raise ImageError("array holds NaN or infinite values")
        top = 1.0 if a.max(initial=0) <= 1.0 else 255.0 if a.max() <= 255 else float(a.max())
        a = np.clip(a * (255.0 / top), 0, 255).round().astype(np.uint8)
    if a.ndim == 3:
        channels = a.shape[-1]
        if channels == 1:
            a = a[..., 0]
        else:
            gray = cv2.cvtColor(np.ascontiguousarray(a[..., :3]), cv2.COLOR_RGB2GRAY)
            a = _over_white(gray, a[..., 3]) if channels == 4 else gray
    a = np.ascontiguousarray(a)
    work = _reduce(a)
    return Picture(work, w / work.shape[1], (w, h), a)
