"""Picture → the 784 float32 values the model expects, and where in the picture the digit was.

    decode (decode.py)      bytes/path/PIL/numpy → 8-bit gray at the scale needed, within limits
    find   (locate.py)      paper vs ink, strokes, lines and edges dropped, the digit's strokes grouped
    crop                    the digit's ink, from a finer decode when it is small in the working image
    normalise (normalize.py) stroke width to MNIST's, 20 px box, centre of mass in 28×28

A 28×28 picture that already looks like an MNIST digit passes through unchanged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import ImageError
from .decode import MAX_FILE_BYTES, MAX_PIXELS, ImageSource, Picture, decode
from .locate import Strokes, find_strokes, ink_map
from .normalize import digit_tensor, looks_like_mnist, whole_picture_digit

__all__ = ["MAX_FILE_BYTES", "MAX_PIXELS", "ImageSource", "Reading", "preprocess", "read_digit"]

MIN_SOURCE_PX = 16  # a digit smaller than this (long side, working pixels) is cropped from a finer decode
WHOLE_PICTURE_PX = 64  # a picture no larger than this is taken as one digit, cropped (low resolution)
CROP_MARGIN = 1.0  # of the digit's long side, around it, when the ink is measured again in a finer decode


@dataclass(frozen=True)
class Reading:
    """One digit as the model sees it (``tensor``, 784 float32) and its box in the picture (x0, y0, x1, y1)."""

    tensor: np.ndarray
    box: tuple[int, int, int, int]


def preprocess(source: ImageSource) -> np.ndarray:
    """Return the float32 vector of 784 values in [0, 1] for one picture; ImageError names the file."""
    return read_digit(source).tensor


def read_digit(source: ImageSource) -> Reading:
    """Find the digit in ``source`` and normalise it like MNIST; ImageError (naming the file) if there is none."""
    try:
        return _read(decode(source))
    except ImageError as e:
        if e.path is None and isinstance(source, (str, os.PathLike)):
            raise ImageError(e.reason, path=str(source)) from None
        raise


def _read(picture: Picture) -> Reading:
    gray = picture.gray
    width, height = picture.size
    if looks_like_mnist(gray):
        return Reading((gray.astype(np.float32) / 255.0).reshape(-1), (0, 0, width, height))
    if max(gray.shape) <= WHOLE_PICTURE_PX:
        tensor = whole_picture_digit(gray)
        if tensor is None:
            raise ImageError("no digit found (blank image)")
        return Reading(tensor.reshape(-1), (0, 0, width, height))
    ink, dark, groups = find_strokes(gray)
    if not groups:
        raise ImageError("no digit found (blank image)" if int(ink.max()) == 0 else "no digit found")
    digit = groups[0]
    box = _scaled(digit.box, picture.scale, (width, height))
    x0, y0, x1, y1 = digit.box
    if max(x1 - x0, y1 - y0) >= MIN_SOURCE_PX or picture.scale <= 1:
        soft = _soft_ink(ink, digit)
    else:
        soft = _soft_ink_finer(picture, box, dark, MIN_SOURCE_PX * 2 / max(x1 - x0, y1 - y0))
    tensor = digit_tensor(soft) if soft is not None else None
    if tensor is None:
        raise ImageError("no digit found")
    return Reading(tensor.reshape(-1), box)


def _scaled(box, scale: float, size: tuple[int, int]) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (int(round(v * scale)) for v in box)
    return max(0, x0), max(0, y0), min(size[0], x1), min(size[1], y1)


def _soft_ink(ink: np.ndarray, digit: Strokes) -> np.ndarray | None:
    """The digit's ink in its box, everything outside its strokes set to 0, peak ink → 1."""
    x0, y0, x1, y1 = digit.box
    crop = ink[y0:y1, x0:x1]
    mask = np.zeros(crop.shape, np.uint8)
    cv2.drawContours(mask, list(digit.contours), -1, 1, thickness=-1, offset=(-x0, -y0))
    mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    values = crop[mask > 0]
    if values.size == 0:
        return None
    k = int(values.size * 0.98)
    peak = float(np.partition(values, k)[k]) if k < values.size else float(values.max())
    if peak <= 0:
        return None
    return np.clip(crop.astype(np.float32) * mask * (1.0 / peak), 0, 1)


def _soft_ink_finer(picture: Picture, box, dark: bool, factor: float) -> np.ndarray | None:
    """The digit is small in the working image: measure its ink again in a finer decode around ``box``."""
    gray, scale = picture.finer(factor)
    x0, y0, x1, y1 = (v / scale for v in box)
    long = max(x1 - x0, y1 - y0)
    m = long * CROP_MARGIN
    h, w = gray.shape
    cx0, cy0 = max(0, int(x0 - m)), max(0, int(y0 - m))
    cx1, cy1 = min(w, int(np.ceil(x1 + m))), min(h, int(np.ceil(y1 + m)))
    region = gray[cy0:cy1, cx0:cx1]
    if region.size == 0:
        return None
    ink = cv2.blur(ink_map(region, max(15, int(long * 0.6)) | 1, dark)[0], (3, 3))
    peak = int(ink.max())
    _, mask = cv2.threshold(ink, max(30, int(peak * 0.4)), 255, cv2.THRESH_BINARY)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    bx0, by0, bx1, by1 = x0 - cx0, y0 - cy0, x1 - cx0, y1 - cy0
    inside = []
    for c in contours:
        x, y, bw, bh = cv2.boundingRect(c)
        if x < bx1 and x + bw > bx0 and y < by1 and y + bh > by0:
            inside.append(c)
    if not inside:
        return None
    boxes = np.array([cv2.boundingRect(c) for c in inside])
    digit_box = (
        int(boxes[:, 0].min()),
        int(boxes[:, 1].min()),
        int((boxes[:, 0] + boxes[:, 2]).max()),
        int((boxes[:, 1] + boxes[:, 3]).max()),
    )
    return _soft_ink(ink, Strokes(digit_box, tuple(inside), 0.0))
