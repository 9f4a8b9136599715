"""Find the digit in a picture: where the ink is, which strokes belong together, which group is the digit.

Works on the working gray image of ``decode`` (a few hundred pixels a side) in four steps:

1. ink: how much darker each pixel is than the paper around it. The paper is a morphological
   closing with a kernel wider than any stroke, so shading, vignetting and the step edges of a
   table or a shadow band are paper, not ink (``ink_map``);
2. threshold relative to the darkest ink, then the outer contours of the ink (one per stroke);
3. drop specks and long thin structures (ruled lines, paper and table edges);
4. merge strokes closer than a small gap (the broken strokes of one digit) and pick the group
   with the most ink, discounting groups that touch the frame, span most of it, or are far too
   elongated to be a digit.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PAPER_KERNEL = 0.12  # of the short side: wider than the thickest stroke of the largest digit
MIN_PEAK_INK = 40  # of 255: darkest ink must be at least this much darker than its paper
INK_FRACTION = 0.4  # a pixel is ink when darker than this fraction of the darkest ink
MIN_INK = 30  # …and never below this (of 255), whatever the darkest ink
SMOOTH_MIN_SIDE = 100  # pictures with a shorter short side are not smoothed
STROKE_GAP = 0.015  # of the short side: strokes this close belong to one digit
BIG_DIGIT = 0.35  # of the short side: a digit larger than this is looked for again with a wider kernel
ROW_ASPECT = 1.5  # a best group this many times wider than tall is a row of digits (a number)
BROKEN_STROKE_GAP = 0.35  # of the larger stroke's size: pieces of a similar weight this close are one digit
BROKEN_STROKE_WEIGHT = 0.08  # …"similar": the smaller has at least this fraction of the larger's ink
DIGIT_MAX_SIZE = 0.5  # of the short side: …and neither is larger than a digit can be (edges, shadows)
FRAME_INNER = 0.5  # of a closed outline's height: a stroke this tall inside it makes it a frame (a box, a circle)
EVEN_PAPER = 6  # gray levels: a border's paper spread (quartiles) this small is evenly lit (a scan, a crop),…
STROKE_KERNEL = 3  # …and there the paper kernel is at least this many stroke widths, measured on Otsu's split,…
MAX_STROKE = 0.2  # …unless that "stroke" is wider than this fraction of the short side (a dark region, not ink)
LARGE_ROW_HEIGHT = 0.1  # of the frame's height: several strokes this tall across the frame are a number, not an edge
EVEN_TAILS = 12  # gray levels: both tails of the reduced picture this short leave the ink's side to ``ink_side``
LINE_LENGTH = 0.25  # of the short side: a stroke longer than this,…
LINE_STRAIGHTNESS = 0.25  # …whose box is this much narrower than long (straight, within ~14°),…
LINE_THINNESS = 0.08  # …and thinner than this fraction of its length is a line, not part of a digit,
# when it lies flat or reaches the frame's edge (a stroke standing alone is a "1")


@dataclass(frozen=True)
class Strokes:
    """A group of strokes: its box (x0, y0, x1, y1, exclusive) and its contours, in working pixels."""

    box: tuple[int, int, int, int]
    contours: tuple[np.ndarray, ...]
    ink: float  # total ink area, for ranking


def percentiles(gray: np.ndarray, quantiles) -> list[int]:
    """The smallest gray levels below or at which each of ``quantiles`` of the pixels lie."""
    cdf = cv2.calcHist([gray], [0], None, [256], [0, 256]).ravel().cumsum()  # float32, exact counts
    cdf /= max(float(cdf[-1]), 1.0)  # the last count is the total: no second pass to sum the histogram
    return cdf.searchsorted(np.asarray(quantiles, np.float64)).tolist()


def ink_map(gray: np.ndarray, kernel: int, dark: bool | None = None) -> tuple[np.ndarray, bool]:
    """(uint8 ink: 0 paper … 255 black on white, True if the ink is darker than the paper) of a gray image.

    The ink is dark when the long tail of the histogram is on the dark side (``dark`` forces it); when
    neither tail is long (EVEN_TAILS: a thin stroke vanishes from the reduced picture), ``ink_side``.
    The paper is the closing of the image with a ``kernel``-wide square, computed at a quarter of
    the resolution (the paper varies slowly) and never darker than the pixel itself. Ink is the
    difference relative to that paper, but never relative to less than half the brightest paper:
    in a dark region (a table) JPEG ringing would otherwise read as ink.
    """
    h, w = gray.shape
    f = 4 if min(h, w) >= 64 else 1
    small = cv2.resize(gray, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA) if f > 1 else gray
    if dark is None:
        p01, p50, p99 = percentiles(small, (0.01, 0.5, 0.99))
        dark = (p50 - p01) >= (p99 - p50) if max(p50 - p01, p99 - p50) >= EVEN_TAILS else ink_side(gray, p50)
    if not dark:
        gray, small = cv2.bitwise_not(gray), cv2.bitwise_not(small)
    k = max(3, (kernel // f) | 1)
    closed = cv2.morphologyEx(
        small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)), borderType=cv2.BORDER_REPLICATE
    )
    paper_level = max(percentiles(closed, (0.95,))[0] // 2, 1)
    if f > 1:
        closed = cv2.resize(closed, (w, h), interpolation=cv2.INTER_LINEAR)
    # where the paper estimate is below the pixel the difference saturates to 0, and 0 divided by
    # anything is 0: the paper need not be raised to the pixel first (the same ink, one pass less)
    ink = cv2.subtract(closed, gray)
    return cv2.divide(ink, cv2.max(closed, paper_level, dst=closed), dst=ink, scale=255), dark


def ink_side(gray: np.ndarray, paper: int) -> bool:
    """Whether more pixels are darker than ``paper`` by MIN_PEAK_INK than lighter by as much: dark ink.

    For a picture whose reduced histogram has no long tail: a thin "1" in white marker or chalk on a
    dark board is too thin to reach the reduced picture's 99th percentile, and was taken for dark
    ink (the paper's own noise the longer tail), which made the board's dark the ink."""
    below = cv2.countNonZero(cv2.compare(gray, paper - MIN_PEAK_INK, cv2.CMP_LT))
    above = cv2.countNonZero(cv2.compare(gray, paper + MIN_PEAK_INK, cv2.CMP_GT))
    return below >= above


def paper_kernel(gray: np.ndarray) -> int:
    """The closing kernel (odd, pixels) that ``find_strokes`` uses for this image's paper."""
    return max(15, round(min(gray.shape) * PAPER_KERNEL) | 1)


def find_strokes(
    gray: np.ndarray, kernel: int | None = None, dark: bool | None = None, least: int | None = None
) -> tuple[np.ndarray, bool, list[Strokes]]:
    """(ink map, whether the ink is dark, groups of strokes ranked most digit-like first) of a gray image.

    The paper kernel suits digits up to about a third of the short side; when the best group is
    larger (a close-up), its strokes may be wider than the kernel, so the search runs once more with
    a kernel as wide as that group (as its height, for a row of digits: a number is wide, its strokes
    are not). On evenly lit paper (a scan, a digit cut out, a marker on a clean sheet) the strokes'
    width is measured first and the kernel kept wider than it (``least``, ``stroke_kernel``): a digit
    that fills its picture has strokes wider than the usual kernel, which would take them for paper.
    """
    h, w = gray.shape
    short = min(h, w)
    if least is None:
        least = stroke_kernel(gray) if kernel is None and paper_spread(gray) <= EVEN_PAPER else 0
    ink, dark = ink_map(gray, max(kernel or paper_kernel(gray), least), dark)
    if short >= SMOOTH_MIN_SIDE:
        ink = cv2.blur(ink, (3, 3))  # sensor noise; a small picture has no pixel to spare
    peak = int(ink.max())
    if peak < MIN_PEAK_INK:
        return ink, dark, []
    groups = _groups_at(ink, ink_threshold(peak), short)
    artifacts = [g for g in groups if _frame_artifact(g, w, h)]
    if artifacts:
        # a table edge or the dark corner of a tilted page sets the threshold so high that a faint
        # digit vanishes: set the threshold again without them (they stay candidates, ranked last)
        hidden = np.zeros(ink.shape, np.uint8)
        cv2.drawContours(hidden, [c for g in artifacts for c in g.contours], -1, 1, thickness=-1)
        hidden = cv2.dilate(hidden, np.ones((5, 5), np.uint8))
        rest = np.where(hidden > 0, 0, ink).astype(np.uint8)
        rest_peak = int(rest.max())
        if rest_peak >= MIN_PEAK_INK:
            groups = _groups_at(ink, ink_threshold(rest_peak), short)
    scores = [_score(g, w, h) for g in groups]  # each once (stable: equal scores keep their order)
    ranked = [groups[i] for i in sorted(range(len(groups)), key=scores.__getitem__, reverse=True) if scores[i] > 0]
    if ranked and kernel is None:
        x0, y0, x1, y1 = ranked[0].box
        long = max(x1 - x0, y1 - y0)
        if x1 - x0 > ROW_ASPECT * (y1 - y0):  # digits in a row: their strokes are as wide as the row is tall
            long = y1 - y0
        if long > BIG_DIGIT * short:  # its strokes may be wider than the paper kernel: look again
            return find_strokes(gray, kernel=min(max(h, w), long) | 1, dark=dark, least=least)
    return ink, dark, ranked


def paper_spread(gray: np.ndarray) -> int:
    """The interquartile range of the paper on the picture's border (its pixels within 40 gray levels of
    the border's median): 0–3 on a scan or a clean crop, ten and more under a photo's uneven light."""
    counts = np.bincount(border(gray), minlength=256).cumsum()  # a histogram's quantiles: no sort
    middle = int(counts.searchsorted(counts[-1] / 2))
    lo, hi = max(0, middle - 39), min(255, middle + 39)
    paper = counts[lo : hi + 1] - (counts[lo - 1] if lo else 0)
    q1, q3 = paper.searchsorted((paper[-1] / 4, paper[-1] * 3 / 4))
    return int(q3 - q1)


def border(a: np.ndarray) -> np.ndarray:
    """The pixels of an image's border (each once): top row, bottom row, then the left and right columns."""
    return np.concatenate([a[0], a[-1], a[1:-1, 0], a[1:-1, -1]])


def otsu_ink(gray: np.ndarray) -> np.ndarray:
    """Otsu's split of the picture's gray levels as a mask, ink 1 and paper 0: the ink is the side less of
    the border is on (the search's own polarity may be wrong when a digit fills the picture)."""
    _, mask = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    ring = border(mask)
    if 2 * np.count_nonzero(ring) > ring.size:
        mask ^= 1  # the paper is the light side: the ink is the dark one
    return mask


def stroke_kernel(gray: np.ndarray) -> int:
    """A paper kernel (odd, pixels) STROKE_KERNEL times as wide as the picture's strokes, measured on
    ``otsu_ink`` (2 × ink area / outline); 0 when there is no ink, or when it is wider than MAX_STROKE
    of the short side (a dark region, not strokes)."""
    mask = otsu_ink(gray)
    area = cv2.countNonZero(mask)
    if area == 0:
        return 0
    outline = area - cv2.countNonZero(cv2.erode(mask, np.ones((3, 3), np.uint8)))
    width = 2 * area / max(outline, 1)
    if width > MAX_STROKE * min(gray.shape):
        return 0
    return round(STROKE_KERNEL * width) | 1


def ink_threshold(peak: int) -> int:
    """The ink level of a stroke, from the darkest ink's (``peak``, 0…255)."""
    return max(MIN_INK, int(peak * INK_FRACTION))


def _groups_at(ink: np.ndarray, threshold: int, short: int) -> list[Strokes]:
    _, mask = cv2.threshold(ink, threshold, 255, cv2.THRESH_BINARY)
    contours, hierarchy = cv2.findContours(mask, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    strokes = [s for s in map(_stroke, _unframed(contours, hierarchy)) if s is not None]
    h, w = ink.shape
    not_lines = [s for s in strokes if not _is_line(s, w, h)]
    # a picture of nothing but one long thin stroke (a hairline "1" close up) keeps it
    return _group(not_lines or strokes, max(2, round(short * STROKE_GAP)), short, (w, h))


def _unframed(contours: tuple, hierarchy: np.ndarray | None) -> list[np.ndarray]:
    """The outer contours of the ink, with every frame replaced by the strokes inside it.

    A frame is ink drawn around a digit: a box, a circle, a form's row of boxes. Its outer contour
    holds the digit inside one of its holes, where an outer contour alone would never see it. An
    outer contour is taken for a frame when a stroke inside one of its holes is at least FRAME_INNER
    of its height (a dotted zero's dot, a face's eyes and mouth are far smaller than that).
    ``hierarchy`` is OpenCV's RETR_TREE hierarchy: [next, previous, first child, parent] per contour.
    """
    if hierarchy is None:
        return []
    parent = hierarchy[0][:, 3]
    if parent.max() < 0:
        return list(contours)  # no holes at all
    grandparent = np.where(parent >= 0, parent[parent], -2)  # parent[-1] is harmless: masked by the where
    outer = parent == -1
    if grandparent.max() < 0:
        return [contours[i] for i in np.flatnonzero(outer)]  # nothing inside a hole (the common picture)
    # inside a hole of an outer contour: the parent is a hole, whose parent is outer
    inside = np.flatnonzero((grandparent >= 0) & (parent[np.maximum(grandparent, 0)] == -1))
    frames = set()
    for i in inside.tolist():
        frame = int(grandparent[i])
        if (
            frame not in frames
            and cv2.boundingRect(contours[i])[3] >= FRAME_INNER * cv2.boundingRect(contours[frame])[3]
        ):
            frames.add(frame)
    kept = [i for i in np.flatnonzero(outer).tolist() if i not in frames]
    kept += [i for i in inside.tolist() if int(grandparent[i]) in frames]
    return [contours[i] for i in sorted(kept)]


def _frame_artifact(g: Strokes, w: int, h: int) -> bool:
    """On the frame's edge and frame-sized or elongated: a table edge, a shadow, a page corner."""
    x0, y0, x1, y1 = g.box
    bw, bh = x1 - x0, y1 - y0
    edge = x0 <= 1 or y0 <= 1 or x1 >= w - 1 or y1 >= h - 1
    return edge and (bw > 0.6 * w or bh > 0.6 * h or not 1 / 3 <= bw / bh <= 3)


def _stroke(contour: np.ndarray) -> Strokes | None:
    x, y, bw, bh = cv2.boundingRect(contour)
    area = cv2.contourArea(contour) + len(contour) / 2 + 1  # pixel area, thin strokes included
    if area < 4:
        return None
    return Strokes((x, y, x + bw, y + bh), (contour,), area)


def _is_line(s: Strokes, w: int, h: int) -> bool:
    """A ruled line, a grid line, a paper or table edge: long, straight, thin, and not standing like a "1".

    A long thin upright stroke that does not reach the frame's edge is a "1": ruled lines lie flat,
    margin lines, grid lines and paper edges run through the frame."""
    x0, y0, x1, y1 = s.box
    bw, bh = x1 - x0, y1 - y0
    length, breadth = max(bw, bh), min(bw, bh)
    if not (
        length > LINE_LENGTH * min(w, h) and breadth < LINE_STRAIGHTNESS * length and s.ink < LINE_THINNESS * length**2
    ):
        return False
    return bw >= bh or x0 <= 1 or y0 <= 1 or x1 >= w - 1 or y1 >= h - 1


def _group(strokes: list[Strokes], gap: int, short: int, frame: tuple[int, int]) -> list[Strokes]:
    """Merge strokes (transitively) whose boxes are within ``gap`` pixels of each other, or, for strokes
    of a similar weight, within BROKEN_STROKE_GAP of the larger one's size (a 5's detached bar).

    A table edge or a shadow (``_frame_artifact``) merges with nothing: its box, as wide as the frame,
    would swallow the digits written beside it. Groups come in the order of their first stroke.
    Plain Python over the pairs, swept left to right: a picture holds a handful of strokes, for which
    this is several times faster than pairwise numpy matrices.
    """
    if len(strokes) < 2:
        return list(strokes)  # one stroke is its own group (the common photo): nothing to merge
    boxes = [s.box for s in strokes]
    inks = [s.ink for s in strokes]
    sizes = [max(x1 - x0, y1 - y0) for x0, y0, x1, y1 in boxes]
    digit_sized = [size <= DIGIT_MAX_SIZE * short for size in sizes]
    parent = list(range(len(strokes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    joining = sorted((i for i, s in enumerate(strokes) if not _frame_artifact(s, *frame)), key=lambda i: boxes[i][0])
    widest = max(gap, BROKEN_STROKE_GAP * max(sizes))  # no pair further apart than this can merge
    for k, i in enumerate(joining):
        ax0, ay0, ax1, ay1 = boxes[i]
        for j in joining[k + 1 :]:
            bx0, by0, bx1, by1 = boxes[j]
            if bx0 - ax1 > widest:
                break  # sorted by their left edge: every later box is further still
            reach = gap
            if (
                digit_sized[i]
                and digit_sized[j]
                and min(inks[i], inks[j]) >= BROKEN_STROKE_WEIGHT * max(inks[i], inks[j])
            ):
                reach = max(gap, BROKEN_STROKE_GAP * max(sizes[i], sizes[j]))
            if max(0, ax0 - bx1, bx0 - ax1) <= reach and max(0, ay0 - by1, by0 - ay1) <= reach:
                parent[root(i)] = root(j)
    members: dict[int, list[int]] = {}
    for i in range(len(strokes)):
        members.setdefault(root(i), []).append(i)
    return [
        Strokes(
            (
                min(boxes[i][0] for i in idx),
                min(boxes[i][1] for i in idx),
                max(boxes[i][2] for i in idx),
                max(boxes[i][3] for i in idx),
            ),
            tuple(c for i in idx for c in strokes[i].contours),
            sum(inks[i] for i in idx),
        )
        for idx in members.values()
    ]


def _score(g: Strokes, w: int, h: int) -> float:
    """Ink area, discounted for what a digit rarely is: on the frame's edge, frame-sized, or a sliver.

    Something both on the edge and spanning most of the frame is the frame's own edge (a table, a
    shadow): it is taken only when there is nothing else. Several strokes spanning most of the
    frame's width clear of its edges, at least LARGE_ROW_HEIGHT of it tall, are a number written
    large, not frame-sized: discounted as such, they lost to a sliver of a table's rim.
    """
    x0, y0, x1, y1 = g.box
    bw, bh = x1 - x0, y1 - y0
    score = g.ink
    spans = bw > 0.6 * w or (bh > 0.6 * h and bw > 0.25 * bh)  # a tall "1" close up is not frame-sized
    edge = x0 <= 1 or y0 <= 1 or x1 >= w - 1 or y1 >= h - 1
    if spans and not edge and len(g.contours) > 1 and bh >= LARGE_ROW_HEIGHT * h:
        spans = False
    if spans:
        score *= 0.05
    if edge:
        score *= 0.01
    if spans and edge:
        score *= 1e-4
    if not 0.05 <= bw / bh <= 3:  # a "1" in a fine pen can be twenty times taller than wide
        score *= 0.1
    return score if g.ink >= 6 else 0.0
