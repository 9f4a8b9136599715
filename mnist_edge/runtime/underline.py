"""A line drawn under a digit: found in the digit's crop, so that the digit can also be read without it.

An underline touching a digit, or drawn just below it, is grouped with the digit's strokes (it is
too short to be a ruled line) and normalised with it: the model sees a digit standing on a bar,
which MNIST never has, and reads an underlined digit right about half the time. ``underline`` finds
the bar in a lone digit's soft ink. The reader looks for it only when it reads the digit doubtfully
or as no digit, and takes the reading without it only when that is a digit and surer
(``predictor.second_look``): a 2's base or a printed 1's foot, read surely as they are, stay.

What counts as an underline:

* a straight run at least UNDERLINE_LENGTH of the mark's width, level within ±6° (a morphological
  opening with a line at five angles), in the mark's lower part (centre below UNDERLINE_LOW of its
  height) with little ink below it;
* either apart from the rest of the mark, or reaching beyond it on both sides by at least half its
  own thickness (measured against the ink further than UNDERLINE_NEAR of the height from the bar).
  An L's base or a Z's, which leave the mark on one side only, are not underlines.
"""

from __future__ import annotations

import cv2
import numpy as np

UNDERLINE_INK = 0.35  # soft ink (0…1) this dark is a stroke
UNDERLINE_BAND = 0.6  # a row below this fraction of the mark's height…
UNDERLINE_LENGTH = 0.45  # …with a run of strokes this fraction of its width long may cross a bar: look for one
UNDERLINE_ANGLES = (-6, -3, 0, 3, 6)  # degrees: a hand-drawn line is rarely level
UNDERLINE_LOW = 0.7  # the bar's centre is below this fraction of the mark's height,…
UNDERLINE_BELOW = 0.1  # …with at most this fraction of the ink below it,
UNDERLINE_NEAR = 0.08  # …and the mark's extent is taken from its ink further than this (of its height) from the bar,
UNDERLINE_REACH = 0.5  # …beyond which a bar touching the mark reaches this many of its thicknesses on each side

_kernels: dict[tuple[int, int], np.ndarray] = {}


def underline(soft: np.ndarray) -> np.ndarray | None:
    """The line under the mark in ``soft`` (a digit's soft ink, float32 0…1) as a 0/1 mask, or None."""
    strokes = (soft >= UNDERLINE_INK).view(np.uint8)
    left, top, w, h = cv2.boundingRect(strokes)
    if h < 8 or w < 4:
        return None
    length = max(5, int(UNDERLINE_LENGTH * w))
    low = top + int(UNDERLINE_BAND * h)
    if _longest_run(strokes[low : top + h, left : left + w]) < length:  # no bar's worth of stroke in a row
        return None
    straight = np.zeros_like(strokes)
    lower = strokes[low:]  # the bar lies below UNDERLINE_LOW: its rows, tilted ±6°, lie in here
    for angle in UNDERLINE_ANGLES:
        np.maximum(straight[low:], cv2.morphologyEx(lower, cv2.MORPH_OPEN, _line(length, angle)), out=straight[low:])
    if not straight[top + int(UNDERLINE_LOW * h) :].any():  # nothing straight and long that low
        return None
    count, labels, stats, centres = cv2.connectedComponentsWithStats(straight, connectivity=8)
    total = int(strokes.sum())
    for i in range(1, count):
        x, y, bw, bh, area = (int(v) for v in stats[i])
        if centres[i][1] < top + UNDERLINE_LOW * h or strokes[y + bh :].sum() > UNDERLINE_BELOW * total:
            continue
        bar = (labels == i).view(np.uint8)
        if _under_the_mark(strokes, bar, (x, bw, area), h):
            return bar
    return None


def _longest_run(rows: np.ndarray) -> int:
    """The longest run of consecutive 1s along any row of a 0/1 array."""
    if rows.size == 0:
        return 0
    at = np.arange(1, rows.shape[1] + 1)
    last_gap = np.maximum.accumulate(np.where(rows == 0, at, 0), axis=1)  # where each run started, minus one
    return int((at - last_gap).max())


def _under_the_mark(strokes: np.ndarray, bar: np.ndarray, extent: tuple[int, int, int], height: int) -> bool:
    """Whether ``bar`` is apart from the rest of the strokes, or reaches beyond them on both sides."""
    x, width, area = extent
    rest = strokes.astype(bool) & ~cv2.dilate(bar, np.ones((3, 3), np.uint8)).astype(bool)
    touching = cv2.dilate(bar, np.ones((5, 5), np.uint8)).astype(bool) & rest
    if not touching.any():
        return True
    near = 2 * max(1, int(UNDERLINE_NEAR * height)) + 1
    far = rest & ~cv2.dilate(bar, np.ones((near, near), np.uint8)).astype(bool)
    columns = np.flatnonzero(far.any(axis=0))
    if len(columns) == 0:
        return True  # nothing but the bar and what touches it: the reader finds nothing to read without it
    reach = UNDERLINE_REACH * area / max(width, 1)  # half the bar's mean thickness
    return x <= columns[0] - reach and x + width >= columns[-1] + 1 + reach


def _line(length: int, angle: int) -> np.ndarray:
    """A one-pixel line ``length`` long at ``angle`` degrees, as a structuring element (cached)."""
    key = (length, angle)
    if key not in _kernels:
        slope = float(np.tan(np.deg2rad(angle)))
        half = (length - 1) / 2
        rise = int(np.ceil(abs(slope) * half))
        kernel = np.zeros((2 * rise + 1, length), np.uint8)
        for x in range(length):
            kernel[rise + int(round((x - half) * slope)), x] = 1
        _kernels[key] = kernel
    return _kernels[key]
