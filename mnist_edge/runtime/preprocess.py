"""Picture → the 784 float32 values the model expects, and where in the picture the digit was.

    decode (decode.py)      bytes/path/PIL/numpy → 8-bit gray at the scale needed, within limits
    find   (locate.py)      paper vs ink, strokes, lines and edges dropped, the digit's strokes grouped
    row    (row.py)         the digits of the number in a row with the best one, wide groups cut
    pattern (pattern.py)    "not a digit" when those digits are a small piece of a pattern of strokes
    crop                    each digit's ink, from a finer decode when it is small in the working image
    normalise (normalize.py) stroke width to MNIST's, 20 px box, centre of mass in 28×28

A 28×28 picture that already looks like an MNIST digit passes through unchanged.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial, reduce
from typing import NamedTuple

import cv2
import numpy as np

from ..errors import ImageError
from .decode import MAX_FILE_BYTES, MAX_PIXELS, ImageSource, Picture, decode
from .locate import Strokes, border, find_strokes, ink_map, otsu_ink
from .normalize import (
    digit_tensor,
    fit_and_center,
    looks_like_mnist,
    native_pixels,
    whole_picture_digit,
    whole_picture_ink,
)
from .pattern import on_a_dark_object, part_of_a_pattern
from .row import between_strokes, digits_in_row, halves, joinable, joined
from .segment import Lattice, cut_everywhere, touching_runs
from .trust import NOT_A_DIGIT
from .underline import underline

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_PIXELS",
    "Digits",
    "ImageSource",
    "Reading",
    "Regrouping",
    "decode_picture",
    "looks_like_mnist",
    "mnist_tensor",
    "preprocess",
    "read_picture",
    "read_digit",
    "read_digits",
]

CROP_FROM_WORKING_PX = 32  # a digit at least this large (long side, working pixels) is cropped from the working image
MIN_SOURCE_PX = 16  # …else from the finer decode, or decoded again when it is smaller than this there
WHOLE_PICTURE_PX = 64  # a picture no larger than this is taken as one digit, cropped (low resolution)
# a picture no larger than this (its own pixels) is too small for the card's "not a digit" threshold,
# set on 28×28 digits: real 8×8 digits fall under it one time in 25 (optdigits) to seven (MNIST reduced),
# and most are still read right; there only a nearly uniform reading is no digit (as in a number):
# 1.3 % of optdigits, 93 % of tiny noise
TOO_SMALL_TO_JUDGE = 12
FILLED_PIECE = 0.25  # groups with this fraction of the best group's ink (no specks),…
FILLED_SPAN = 0.6  # …spanning this much of a picture's width or height may be one digit filling it,…
FILLED_ASPECT = 1.2  # …when together they are at most this many times wider than tall (one digit, not a number),…
FILLED_BEST = 0.8  # …the best group lies on the picture's edge or holds less than this fraction of their ink,…
FILLED_BORDER = 0.3  # …and at most this fraction of the picture's border is ink (a texture's is half of it)
FILLED_INSIDE = 0.8  # the whole picture's ink is where the groups are: this much of their box lies in its box
FILLED_PART = 0.4  # a best group this large (of the short side) or on the edge is a piece of the digit that fills it
SEGMENT_BARS = 3  # a digit of at least this many strokes, every one a straight bar (a seven-segment display's),…
BAR_ASPECT = 0.45  # …(its tightest rotated box at most this much as wide as long),…
SEGMENT_JOIN = 0.16  # …has the gaps at its joints closed over this fraction of its long side
ZOOM_BELOW = 24  # working pixels: a row of digits less tall than this is read again in a finer view…
ZOOM_TO = 48  # …where they are about this tall…
ZOOM_MARGIN = 1.0  # …with this many digit heights of the picture around the row
CROP_MARGIN = 0.5  # of the digit's long side: paper around the digit when its ink is measured again
SMOOTH_MIN_DIGIT = 40  # digits at least this large (long side, pixels) are smoothed against sensor noise
_GRAY_TO_FLOAT = np.arange(256, dtype=np.float32) / np.float32(255.0)  # gray level → the model's input value


@dataclass(frozen=True)
class Reading:
    """One digit as the model sees it (``tensor``, 784 float32) and its box in the picture (x0, y0, x1, y1).

    ``gray``: the 28×28 uint8 picture when it passed through unchanged (``tensor`` is it / 255), so that
    the card's shape rules read it without a float copy. ``tiny``: a picture too small for the card's
    "not a digit" threshold (TOO_SMALL_TO_JUDGE), where only a nearly uniform reading is no digit.
    ``soft``: a lone digit's soft ink as cropped, kept so that a doubtful reading can be tried again
    without a line drawn under the digit (``without_underline``).
    """

    tensor: np.ndarray
    box: tuple[int, int, int, int]
    gray: np.ndarray | None = field(default=None, repr=False, compare=False)
    tiny: bool = False
    soft: np.ndarray | None = field(default=None, repr=False, compare=False)


class Regrouping(NamedTuple):
    """Another way to read a row's pieces: ``readings[start:stop]`` read as ``readings``."""

    start: int
    stop: int
    readings: tuple[Reading, ...]


@dataclass(frozen=True)
class Digits:
    """What a picture holds: its digits left to right (``readings``), or none and ``reason`` why.

    ``alternatives``: for a number, neighbouring pieces that may be one digit read apart, read as one
    (``row.joinable``), and wide pieces that may be two digits, read as two (``row.halves``; for a
    lone piece, only where the cut crosses no stroke); the reader chooses by the model's answer
    (``predictor._takes``). ``box``: with no readings, where the picture was looked at when something
    was found and judged no digit (a piece of a pattern).
    ``whole``: for a picture one digit may fill (``_filled``), the whole picture read as that digit,
    which the reader takes when what was found is no digit, or, with ``whole_first``, when it reads
    surer (``predictor.to_number_prediction``).
    ``lattices``: the runs of touching pieces (a number's, or a lone piece wide enough to be two
    digits) cut everywhere they may be cut (``segment``), cropped only when called: the reader asks
    when the usual reading fails (``predictor.third_look``).
    """

    readings: tuple[Reading, ...]
    reason: str | None = None
    alternatives: tuple[Regrouping, ...] = ()
    box: tuple[int, int, int, int] | None = None
    whole: Reading | None = None
    whole_first: bool = False
    lattices: Callable[[], tuple[Lattice, ...]] | None = field(default=None, repr=False, compare=False)


def preprocess(source: ImageSource) -> np.ndarray:
    """Return the float32 vector of 784 values in [0, 1] for one picture; ImageError names the file."""
    return read_digit(source).tensor


def read_digit(source: ImageSource) -> Reading:
    """Find the digit in ``source`` and normalise it like MNIST; ImageError (naming the file) if there is none.

    The most digit-like group of strokes only, even in a picture of a number (``read_digits`` reads them all).
    """
    found = _decoded(source, row=False)
    if not found.readings:
        raise _named(ImageError(found.reason or "no digit found"), source)
    return found.readings[0]


def read_digits(source: ImageSource) -> Digits:
    """Every digit of the number in ``source``, left to right, each normalised like MNIST on its own.

    A picture that decodes but holds no digit is an answer (no readings, a reason: "no digit found", or
    "not a digit" when what would be read is a small piece of a pattern, ``pattern.part_of_a_pattern``), not an error;
    ImageError (naming the file) only when the picture cannot be read at all.
    """
    return _decoded(source, row=True)


def _decoded(source: ImageSource, row: bool) -> Digits:
    return _read(decode_picture(source), row)


def decode_picture(source: ImageSource) -> Picture:
    """``decode``, with an ImageError that names the file."""
    try:
        return decode(source)
    except ImageError as e:
        raise _named(e, source) from None


def read_picture(picture: Picture, mnist_checked: bool = False) -> Digits:
    """``read_digits`` of a picture already decoded (``mnist_checked``: ``looks_like_mnist`` said no already)."""
    return _read(picture, True, mnist_checked)


def mnist_tensor(gray: np.ndarray) -> np.ndarray:
    """The model's input for a picture that passes through unchanged (``looks_like_mnist``): 784 values / 255.

    Each gray level's float is looked up (``gray.astype(np.float32) / 255.0``, the same values): no
    casting loop to set up, which costs more than the division on 784 values with cold caches.
    """
    return _GRAY_TO_FLOAT.take(gray.reshape(-1))


def _named(e: ImageError, source: ImageSource) -> ImageError:
    if e.path is None and isinstance(source, (str, os.PathLike)):
        return ImageError(e.reason, path=str(source))
    return e


def _read(picture: Picture, row: bool = True, mnist_checked: bool = False, kernel: int | None = None) -> Digits:
    gray = picture.gray
    width, height = picture.size
    if not mnist_checked and looks_like_mnist(gray):
        return Digits((Reading(mnist_tensor(gray), (0, 0, width, height), gray),))
    native = native_pixels(gray, WHOLE_PICTURE_PX)
    if native is not None:  # a tiny digit enlarged block by block: read at its own size
        gray = native
    if max(gray.shape) <= WHOLE_PICTURE_PX:
        tensor = whole_picture_digit(gray)
        if tensor is None:
            return Digits((), "no digit found (blank image)")
        tiny = max(gray.shape) <= TOO_SMALL_TO_JUDGE
        return Digits((Reading(tensor.reshape(-1), (0, 0, width, height), tiny=tiny),))
    ink, dark, groups = find_strokes(gray, kernel)
    if not groups:
        return Digits((), "no digit found (blank image)" if int(ink.max()) == 0 else "no digit found")
    found = _found(picture, ink, dark, groups, row)
    filled = _filled(gray, groups) if row and kernel is None else None
    if filled is not None:
        whole = _whole(picture, gray, _union(groups))
        if whole is not None:
            return replace(found, whole=whole, whole_first=filled)
    return found


def _found(picture: Picture, ink: np.ndarray, dark: bool, groups: list[Strokes], row: bool) -> Digits:
    """The digits of the picture's best group of strokes (of its row, when ``row``), cropped and normalised."""
    digits = digits_in_row(groups, ink) if row else groups[:1]
    if row and len(digits) > 1:
        zoomed = _zoomed(picture, digits)
        if zoomed is not None:
            return zoomed
    if row and (part_of_a_pattern(ink, groups, digits) or all(on_a_dark_object(picture.gray, dark, d) for d in digits)):
        looked = reduce(joined, digits).box  # where it looked: the picked strokes' box
        return Digits((), NOT_A_DIGIT, box=_scaled(looked, picture.scale, picture.size))
    crops = [_digit_soft(picture, d, ink, dark) for d in digits]  # (soft ink, box in the picture) per digit
    cropped = [(d, crop[0], _reading(*crop)) for d, crop in zip(digits, crops, strict=True)]
    kept = [(d, soft) for d, soft, r in cropped if r is not None]
    readings = tuple(r for _, _, r in cropped if r is not None)
    if not readings:
        return Digits((), "no digit found")
    if len(readings) == 1 and not row:
        return Digits(readings)
    if len(readings) == 1:  # a lone digit may stand on a line drawn under it (``without_underline``)
        readings = (replace(readings[0], soft=kept[0][1]),)
    pieces = [d for d, _ in kept]
    lattices = None
    if touching_runs(pieces):  # held until the reader asks: the picture without its file's bytes
        lattices = partial(_lattices, replace(picture, data=None), pieces, ink, dark)
    return Digits(readings, alternatives=_alternatives(picture, pieces, ink, dark), lattices=lattices)


def _filled(gray: np.ndarray, groups: list[Strokes]) -> bool | None:
    """Whether one digit may fill the picture (cropped tight to it, or a marker's close-up) and the
    search have read it in pieces: None when not; else whether the pieces say so clearly.

    The search takes strokes on the picture's edge for a table edge or a shadow, and strokes as wide
    as its paper kernel for paper: a digit that fills its picture falls apart into pieces, on the edge
    or beside each other. Then the groups span most of the picture, one digit wide, and the best of
    them lies on the edge or holds only part of their ink; and the picture's border is mostly paper
    (strokes cross it here and there; a texture is ink on half of it). Clearly: the best group lies on
    the edge or is a large piece (FILLED_PART), not a small digit beside a table edge.
    """
    h, w = gray.shape
    best = groups[0]
    x0, y0, x1, y1 = _union(groups)
    if max((x1 - x0) / w, (y1 - y0) / h) < FILLED_SPAN or x1 - x0 > FILLED_ASPECT * (y1 - y0):
        return None
    bx0, by0, bx1, by1 = best.box
    on_edge = bx0 <= 1 or by0 <= 1 or bx1 >= w - 1 or by1 >= h - 1
    if not on_edge and best.ink >= FILLED_BEST * sum(g.ink for g in groups):
        return None
    if _border_ink(gray) > FILLED_BORDER:
        return None
    return on_edge or max(bx1 - bx0, by1 - by0) >= FILLED_PART * min(h, w)


def _union(groups: list[Strokes]) -> tuple[int, int, int, int]:
    """The box of the groups with at least FILLED_PIECE of the best one's ink (a speck is no piece of a
    digit); plain Python over a handful of boxes: this runs on every picture searched."""
    if len(groups) == 1:
        return groups[0].box
    least = FILLED_PIECE * groups[0].ink
    pieces = [g.box for g in groups if g.ink >= least]
    return min(b[0] for b in pieces), min(b[1] for b in pieces), max(b[2] for b in pieces), max(b[3] for b in pieces)


def _whole(picture: Picture, gray: np.ndarray, strokes: tuple[int, int, int, int]) -> Reading | None:
    """The working image read as one digit (``whole_picture_ink`` of it reduced to WHOLE_PICTURE_PX), or
    None when that ink is not where the strokes are (less than FILLED_INSIDE of their box ``strokes``
    lies in its box: a table edge beside a number is ink to a global threshold, and no digit)."""
    small = _at_most(gray, WHOLE_PICTURE_PX)
    found = whole_picture_ink(small)
    if found is None:
        return None
    ink, box = found
    fx, fy = gray.shape[1] / small.shape[1], gray.shape[0] / small.shape[0]
    x0, y0, x1, y1 = box
    box = (round(x0 * fx), round(y0 * fy), min(gray.shape[1], round(x1 * fx)), min(gray.shape[0], round(y1 * fy)))
    if _inside(strokes, box) < FILLED_INSIDE:
        return None
    return Reading(fit_and_center(ink).reshape(-1), _scaled(box, picture.scale, picture.size))


def _inside(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """The fraction of box ``a`` that lies inside box ``b``."""
    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    area = (a[2] - a[0]) * (a[3] - a[1])
    return iw * ih / area if area > 0 else 0.0


def _border_ink(gray: np.ndarray) -> float:
    """The fraction of the picture's border that is ink by Otsu's split (``locate.otsu_ink``)."""
    ring = border(otsu_ink(gray))
    return np.count_nonzero(ring) / ring.size


def _at_most(gray: np.ndarray, most: int) -> np.ndarray:
    """``gray`` reduced by area so that its long side is at most ``most`` pixels."""
    h, w = gray.shape
    s = most / max(h, w)
    if s >= 1:
        return gray
    return cv2.resize(gray, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)


def _zoomed(picture: Picture, digits: list[Strokes]) -> Digits | None:
    """A row of small digits read again in a finer view of the row alone, or None.

    Found in the working image, digits a dozen pixels tall lose their paler strokes to the threshold
    and their outlines are too coarse to mark the ink of a finer crop; looked for again where they
    are ZOOM_TO pixels tall, they are found and cut as any row. Kept when it reads two digits at least.
    """
    height = float(np.median([d.box[3] - d.box[1] for d in digits]))
    if height >= ZOOM_BELOW or picture.scale <= 1:
        return None
    fine, fine_scale = picture.finer(ZOOM_TO / height)
    factor = picture.scale / fine_scale
    if factor < 1.5:
        return None  # nothing finer to look at
    box = reduce(joined, digits).box
    margin = height * ZOOM_MARGIN
    x0, y0 = (max(0, int((v - margin) * factor)) for v in box[:2])
    x1 = min(fine.shape[1], math.ceil((box[2] + margin) * factor))
    y1 = min(fine.shape[0], math.ceil((box[3] + margin) * factor))
    region = np.ascontiguousarray(fine[y0:y1, x0:x1])
    size = (round(region.shape[1] * fine_scale), round(region.shape[0] * fine_scale))
    # the paper kernel as wide as a digit is tall: wider than any stroke (a marker's included), as
    # ``find_strokes`` takes it for a close-up; the region is too small for the usual fraction of it
    kernel = round(height * factor) | 1
    found = _read(Picture(region, fine_scale, size, region), row=True, mnist_checked=True, kernel=kernel)
    if len(found.readings) < 2:
        return None
    dx, dy = round(x0 * fine_scale), round(y0 * fine_scale)

    def moved(r: Reading) -> Reading:
        bx0, by0, bx1, by1 = r.box
        return Reading(r.tensor, (bx0 + dx, by0 + dy, bx1 + dx, by1 + dy), r.gray)

    alternatives = tuple(Regrouping(a.start, a.stop, tuple(map(moved, a.readings))) for a in found.alternatives)
    inner = found.lattices

    def lattices() -> tuple[Lattice, ...]:
        return tuple(lat._replace(readings=tuple(map(moved, lat.readings))) for lat in inner())

    return Digits(tuple(map(moved, found.readings)), found.reason, alternatives, lattices=lattices if inner else None)


def _alternatives(picture: Picture, digits: list[Strokes], ink: np.ndarray, dark: bool) -> tuple:
    """A Regrouping for each pair of neighbours that may be one digit's pieces (``row.joinable``) and
    for each way a piece may be two digits (``row.halves``). A lone group is cut only between its
    strokes (``row.between_strokes``): with no neighbour to say a number is there, two digits written
    close enough to be grouped as one digit's broken strokes may still be read as two."""
    if len(digits) == 1:  # one stroke always crosses the cut: only a group of several is cut at all
        lone = digits[0]
        cuts = halves(lone, ink) if len(lone.contours) > 1 else []
        options = [(0, 1, two) for two in cuts if between_strokes(lone, two)]
    else:
        options = [(i, i + 2, [joined(digits[i], digits[i + 1])]) for i in joinable(digits)]
        options += [(i, i + 1, two) for i, d in enumerate(digits) for two in halves(d, ink)]
    out = []
    for start, stop, pieces in options:
        readings = [_crop(picture, p, ink, dark) for p in pieces]
        if all(r is not None for r in readings):
            out.append(Regrouping(start, stop, tuple(readings)))
    return tuple(out)


def _lattices(picture: Picture, digits: list[Strokes], ink: np.ndarray, dark: bool) -> tuple[Lattice, ...]:
    """The runs of touching pieces (``segment.touching_runs``) cut everywhere they may be cut
    (``segment.cut_everywhere``), each stretch cropped and normalised as a digit."""
    height = float(statistics.median(d.box[3] - d.box[1] for d in digits))
    out = []
    for start, stop in touching_runs(digits):
        cuts, spans, pieces = cut_everywhere(reduce(joined, digits[start:stop]), ink, height)
        kept = [(span, r) for span, piece in zip(spans, pieces, strict=True) if (r := _crop(picture, piece, ink, dark))]
        if kept:
            out.append(Lattice(start, stop, cuts, tuple(s for s, _ in kept), tuple(r for _, r in kept)))
    return tuple(out)


def _crop(picture: Picture, digit: Strokes, ink: np.ndarray, dark: bool) -> Reading | None:
    """One digit's reading: its ink, from the finer decode when it is small in the working image, normalised."""
    return _reading(*_digit_soft(picture, digit, ink, dark))


def _digit_soft(picture: Picture, digit: Strokes, ink: np.ndarray, dark: bool) -> tuple[np.ndarray | None, tuple]:
    """(the digit's soft ink as ``_digit_ink`` crops it, from the image ``_crop`` chooses; its box in the picture)."""
    gray = picture.gray
    box = _scaled(digit.box, picture.scale, picture.size)
    x0, y0, x1, y1 = digit.box
    long = max(x1 - x0, y1 - y0)
    if long >= CROP_FROM_WORKING_PX or picture.scale <= 1:
        source, factor = gray, 1.0
    else:  # small in the working image: take its ink from the finer decode (decoded again if too small there)
        fine_factor = picture.scale / picture.fine_scale
        need = fine_factor if long * fine_factor >= MIN_SOURCE_PX else 2 * MIN_SOURCE_PX / long
        source, fine_scale = picture.finer(need)
        factor = picture.scale / fine_scale
    soft = _digit_ink(source, factor, digit, dark, ink if source is gray else None)
    if soft is not None and _segments(digit):
        side = max(3, int(SEGMENT_JOIN * max(soft.shape)) | 1)
        soft = cv2.morphologyEx(soft, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side)))
    return soft, box


def _segments(digit: Strokes) -> bool:
    """Whether ``digit`` is drawn in separate straight bars (``SEGMENT_BARS``, ``BAR_ASPECT``): a meter's or a
    clock's seven-segment digit, whose gaps at the joints no MNIST digit has (the model read 58.5 % of them
    right and refused 27.5 %; with the gaps closed 66 % and 19 %, ``benchmarks/other_pictures.py``). A drawn
    face, an icon or a handwritten digit in pieces holds a curve, a ring or a dot: not closed."""
    if len(digit.contours) < SEGMENT_BARS:
        return False
    for contour in digit.contours:
        _, (a, b), _ = cv2.minAreaRect(contour)
        if min(a, b) > BAR_ASPECT * max(a, b):
            return False
    return True


def _reading(soft: np.ndarray | None, box: tuple[int, int, int, int]) -> Reading | None:
    """The digit's 28×28 from its soft ink (``normalize.digit_tensor``), or None when nothing is left."""
    tensor = digit_tensor(soft) if soft is not None else None
    if tensor is None:
        return None
    return Reading(tensor.reshape(-1), box)


def without_underline(reading: Reading) -> Reading | None:
    """A lone digit's reading without the line drawn under it (``underline``), or None when there is
    none (or the reading kept no soft ink: not a lone digit)."""
    bar = underline(reading.soft) if reading.soft is not None else None
    if bar is None:
        return None
    plain = reading.soft.copy()
    plain[cv2.dilate(bar, np.ones((3, 3), np.uint8)).view(bool)] = 0  # with the bar's anti-aliased rim
    return _reading(plain, reading.box)


def _scaled(box, scale: float, size: tuple[int, int]) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (int(round(v * scale)) for v in box)
    return max(0, x0), max(0, y0), min(size[0], x1), min(size[1], y1)


def _digit_ink(
    gray: np.ndarray, factor: float, digit: Strokes, dark: bool, working_ink: np.ndarray | None = None
) -> np.ndarray | None:
    """The digit's ink (float32, peak → 1, 0 outside its strokes), tightly cropped, from ``gray``.

    ``gray`` is the working image (``factor`` 1) or a finer decode (``factor`` finer pixels per
    working pixel). From the working image the digit's ink is the working ink map (``working_ink``)
    as it is: its paper kernel is wider than any stroke of a digit up to ``locate.BIG_DIGIT`` of the
    short side, and ``find_strokes`` measured a larger digit again with a kernel as wide as the
    digit. From a finer decode the ink is measured around the digit with a paper kernel as wide as
    the digit itself, so that even marker strokes keep their inside. The strokes found by ``locate``
    (filled, slightly grown) mark which ink belongs to the digit, which leaves out ruled lines
    and neighbours.
    """
    h, w = gray.shape
    x0, y0, x1, y1 = (v * factor for v in digit.box)
    long = max(x1 - x0, y1 - y0)
    m = long * CROP_MARGIN
    cx0, cy0 = max(0, int(x0 - m)), max(0, int(y0 - m))
    cx1, cy1 = min(w, math.ceil(x1 + m)), min(h, math.ceil(y1 + m))
    region = gray[cy0:cy1, cx0:cx1]
    if region.size == 0:
        return None
    if working_ink is not None:
        ink = working_ink[cy0:cy1, cx0:cx1]
    else:
        ink, _ = ink_map(region, max(15, int(long)) | 1, dark)
        if long >= SMOOTH_MIN_DIGIT:
            ink = cv2.blur(ink, (3, 3))
    mask = np.zeros(region.shape, np.uint8)
    contours = digit.contours if factor == 1 else [np.round(c * factor).astype(np.int32) for c in digit.contours]
    cv2.drawContours(mask, contours, -1, 1, thickness=-1, offset=(-cx0, -cy0))
    grow = 2 * max(1, round(factor)) + 1
    mask = cv2.dilate(mask, np.ones((grow, grow), np.uint8))
    bx, by, bw, bh = cv2.boundingRect(mask)  # the grown strokes' box, in the region
    if bw == 0:
        return None
    crop = (slice(by, by + bh), slice(bx, bx + bw))
    ink, mask = ink[crop], mask[crop]
    values = ink[mask.view(bool)]  # the mask holds 0 and 1
    k = int(values.size * 0.98)
    peak = float(np.partition(values, k)[k])
    if peak <= 0:
        return None
    soft = ink.astype(np.float32)  # = clip(ink · mask / peak, 0, 1), in one array: every factor is ≥ 0
    soft *= mask
    soft *= 1.0 / peak
    return np.minimum(soft, 1, out=soft)
