"""Turn the strokes of one digit into what the model expects: MNIST's 28×28 normalisation.

MNIST digits are light strokes on black, scaled so the longer side of the digit is 20 px
(anti-aliased), and centred by centre of mass in a 28×28 field. Before scaling, the strokes are
brought to MNIST's typical width, measured at a common scale (the digit's long side at 80 px):
hairline pens are thickened and markers thinned, since the model only ever saw MNIST's pens.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..contract import SIDE

DIGIT_BOX = 20  # MNIST: the longer side of the digit, in pixels
WIDTH_SCALE = 40  # the digit's long side while its stroke width is measured and adjusted
MNIST_STROKE = 4.9  # median stroke width of MNIST test digits at that scale (2·area / perimeter)
THIN, THICK = 0.65, 1.5  # strokes outside these multiples of MNIST_STROKE are adjusted
INK_LEVEL = 0.35  # the ink level that outlines a stroke when its width is measured
TINY_PICTURE = 24  # whole pictures smaller than this (a side) are enlarged (cubic) before reading…
TINY_ENLARGED = 32  # …to at least this many pixels a side
BLOCKY_MAX = 2048  # pictures larger than this (a side) are never checked for pixel repetition
BORDER_DARK = 25  # an MNIST-like picture's border pixels are mostly at or below this gray level
_DARK_BYTES = bytes(range(BORDER_DARK + 1))
# per pixel of a 28×28 (row-major): 1, x, y; ``pixels @ _ONE_X_Y`` is the moments m00, m10, m01
_ONE_X_Y = np.stack([np.ones(SIDE * SIDE), np.tile(np.arange(SIDE), SIDE), np.repeat(np.arange(SIDE), SIDE)], 1)


def looks_like_mnist(gray: np.ndarray) -> bool:
    """A 28×28 uint8 picture, light on a dark border, mass near the centre: already normalised, pass it through.

    Each call here runs with cold caches (after the previous picture's model call), where a Python→C
    call costs several times its work: the border is counted on the picture's bytes (slices and one
    ``bytes.translate``, no boolean arrays) and the mass and its centre come from one product with the
    pixel coordinates (integer sums, exact in float64: the same values as ``cv2.moments``).
    """
    if gray.shape != (SIDE, SIDE) or gray.dtype != np.uint8:  # the bytes below are gray levels only then
        return False
    pixels = gray.tobytes()
    border = pixels[:SIDE] + pixels[-SIDE:] + pixels[SIDE:-SIDE:SIDE] + pixels[2 * SIDE - 1 : -SIDE : SIDE]
    if len(border.translate(None, _DARK_BYTES)) * 2 >= len(border):  # the border's median is not dark
        return False
    mass, mx, my = (gray.reshape(-1) @ _ONE_X_Y).tolist()
    if mass <= 0:
        return False
    return abs(my / mass - (SIDE - 1) / 2) <= 2.0 and abs(mx / mass - (SIDE - 1) / 2) <= 2.0


def digit_tensor(soft: np.ndarray) -> np.ndarray | None:
    """Soft ink of one digit (float32 in [0, 1], background 0), tightly cropped → 28×28 float32."""
    h, w = soft.shape
    s = WIDTH_SCALE / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    big = cv2.resize(soft, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    big = _match_stroke_width(big)
    x, y, bw, bh = cv2.boundingRect((big > 0.05).view(np.uint8))
    if bw == 0:
        return None
    return fit_and_center(big[y : y + bh, x : x + bw])


def _match_stroke_width(big: np.ndarray) -> np.ndarray:
    outline = (big > INK_LEVEL).view(np.uint8)  # 0 and 1, without a copy
    area = float(cv2.countNonZero(outline))
    if area == 0:
        return big
    perimeter = area - float(cv2.countNonZero(cv2.erode(outline, np.ones((3, 3), np.uint8))))
    width = 2 * area / max(perimeter, 1.0)
    if width < THIN * MNIST_STROKE:
        radius, op = round((MNIST_STROKE - width) / 2), cv2.dilate
    elif width > THICK * MNIST_STROKE:
        radius, op = round((width - MNIST_STROKE) / 2), cv2.erode
    else:
        return big
    if radius < 1:
        return big
    return op(big, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))


def fit_and_center(digit: np.ndarray) -> np.ndarray:
    """Scale the longer side to 20 px (area-averaged), then centre by mass in 28×28; peak ink → 1."""
    h, w = digit.shape
    s = DIGIT_BOX / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    small = cv2.resize(digit, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    return center_by_mass(np.clip(small, 0, 1, out=small))


def center_by_mass(small: np.ndarray) -> np.ndarray:
    h, w = small.shape
    m = cv2.moments(small)
    cy = m["m01"] / m["m00"] if m["m00"] > 0 else (h - 1) / 2
    cx = m["m10"] / m["m00"] if m["m00"] > 0 else (w - 1) / 2
    top = min(max(int(round((SIDE - 1) / 2 - cy)), 0), SIDE - h)
    left = min(max(int(round((SIDE - 1) / 2 - cx)), 0), SIDE - w)
    field = np.zeros((SIDE, SIDE), np.float32)
    field[top : top + h, left : left + w] = small
    peak = float(field.max())
    return np.divide(field, peak, out=field) if peak > 0 else field


def native_pixels(gray: np.ndarray, most: int) -> np.ndarray | None:
    """A picture whose every pixel is a k×k block of one gray level (a tiny digit enlarged by pixel
    repetition, "nearest neighbour"), back at its own size when that is at most ``most`` a side; else None.

    Read at the enlarged size, the blocks' corners are strokes of their own: a diagonal of blocks
    falls apart into pieces, and a digit into a pattern. Exact blocks only (a lossless picture): a
    photo's sensor noise never repeats, and a smooth picture is not cut into equal blocks.
    """
    h, w = gray.shape
    if max(h, w) <= most or max(h, w) > BLOCKY_MAX or min(h, w) < 2:
        return None
    if not (np.array_equal(gray[0], gray[1]) and np.array_equal(gray[:, 0], gray[:, 1])):
        return None  # the cheapest refusal first: most pictures end here
    for k in range(min(h, w) // 2, -(-max(h, w) // most) - 1, -1):  # the largest block first
        if k < 2 or h % k or w % k:
            continue
        small = gray[::k, ::k]
        if np.array_equal(np.repeat(np.repeat(small, k, axis=0), k, axis=1), gray):
            return np.ascontiguousarray(small)
    return None


def whole_picture_digit(gray: np.ndarray) -> np.ndarray | None:
    """A small picture that is all digit (a low-resolution crop) → 28×28 float32 (``whole_picture_ink``,
    then the usual 20 px box and centre of mass); None when it holds no ink."""
    found = whole_picture_ink(gray)
    return None if found is None else fit_and_center(found[0])


def whole_picture_ink(gray: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
    """The digit's soft ink in a picture that is all digit, cropped, and its box (x0, y0, x1, y1) in
    ``gray``'s pixels: global paper/ink levels, no search. None when there is no ink.

    Polarity from the border (paper), contrast stretched between paper and the brightest ink, ink
    found with Otsu's threshold. A picture under TINY_PICTURE a side (an 8×8 digit) is first
    enlarged smoothly: on a handful of pixels the threshold and the crop would cut through the
    digit's soft edges, which carry most of its shape.
    """
    h, w = gray.shape
    k = 1
    if max(h, w) < TINY_PICTURE:  # a few pixels a side: threshold and crop between pixels, not on them
        k = -(-TINY_ENLARGED // max(h, w))
        gray = cv2.resize(gray, (w * k, h * k), interpolation=cv2.INTER_CUBIC)
    g = gray.astype(np.float32) / 255.0
    border = np.concatenate([g[0], g[-1], g[1:-1, 0], g[1:-1, -1]]) if min(g.shape) >= 3 else g.reshape(-1)
    if float(np.median(border)) > 0.5:
        g, border = 1.0 - g, 1.0 - border
    paper = float(np.median(border))
    top = float(g.max())
    if top - paper < 0.1:
        return None
    ink = np.clip((g - paper) / (top - paper), 0, 1)
    level, _ = cv2.threshold((ink * 255).astype(np.uint8), 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    threshold = float(np.clip(level / 255.0, 0.2, 0.6))
    mask = ink > threshold
    if not mask.any():
        return None
    ink = np.where(ink > threshold / 2, ink, 0).astype(np.float32)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    box = (cols[0] // k, rows[0] // k, -(-(cols[-1] + 1) // k), -(-(rows[-1] + 1) // k))
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], box
