"""The digits of a written number: which groups of strokes form one row with the best digit, left to right,
and where a group that is two or more digits wide is cut.

``locate`` ranks groups of strokes, most digit-like first; the first is a digit (or several digits
close enough to have been grouped as one). Starting from it, the row grows to the nearest group on
either side that looks like a digit of the same line: of a similar height, its centre on the line
through the row's centres (which may slope a little), and not too far away. A stray mark, a fragment
of a ruled line or a digit's detached bar is far smaller than the row's digits and never joins it,
except a digit whose strokes touch a line crossing the row (a margin line, the paper's edge): a
group far taller than the row is looked at again inside the row's band, with the thin straight line
that runs out of the band erased. When no group is left, the ends of a number, then the gaps
between its digits wide enough for one, are searched again for a digit in a paler pen, whose
strokes fell below the picture's threshold (set by its darkest ink) and broke into specks.

A group wider than ``SPLIT_ASPECT`` times its height cannot be one digit: it is cut where its
columns hold no ink at all (digits that were grouped because they are close), then, while a piece is
still too wide (``TOUCH_ASPECT``), at the column of least ink near its middle that crosses a single
stroke (digits that touch meet in one stroke; the middle of a wide 0 crosses two). A narrower group
is cut only where its pieces stand clearly apart and one is a straight stroke: a "1" beside its
neighbour. A cut is kept only when every piece is digit-sized (tall enough beside the group and
beside its tallest sibling piece, and with enough ink or a 1's height: a 4's running bar or a 9's
tail is shorter than any digit of the same row); otherwise the group stays whole, so the broken
strokes of one digit are never read as two. A group with no other digit in its row needs to be wider
still (``SOLO_ASPECT``) to be cut at ink: a wide 0 must stay one digit. Last, a digit made of two
strokes side by side (sharing few columns), one of them straight, is a slanted 1 leaning on its
neighbour and cut between the strokes.

Some pieces are also offered read another way, for the reader to choose by the model's answer: two
neighbours that nearly touch as one digit (``joinable``: a wide 0 or a 4 cut in two), a piece wider
than tall as two (``halves``: cut at a column, or along a path bending around the strokes of two
digits written into each other). The row takes one mostly where a piece is not a digit by the card's
rule, where a join reads surer than each of its pieces, or where a doubtful piece's halves both read
surely (``predictor._takes``).
"""

from __future__ import annotations

import statistics

import cv2
import numpy as np

from .locate import MIN_INK, MIN_PEAK_INK, Strokes

ROW_HEIGHT = 0.6  # a neighbour's height is within this ratio (and its inverse) of the row's digits
ROW_ALIGN = 0.35  # …its centre within this many digit heights of the row's line,
ROW_OVERLAP = 0.6  # …(or, beside the first digit alone, sharing this fraction of the shorter one's height),
ROW_GAP = 1.3  # …at most this many digit heights from the row's nearest digit,
ROW_INK = 0.03  # …with at least this much ink (× digit height²: a thin "1" has about 0.07)
MAX_SLOPE = 0.15  # the row's line slopes at most this much (≈ 8.5°)
SPLIT_ASPECT = 1.05  # a group wider than this × its height is looked at as several digits
TOUCH_ASPECT = 1.2  # …and ink without a blank column between is cut when wider than this (a wide 0 is not)
CLEAR_GAP = 0.08  # …or when its pieces stand this many heights apart (a broken stroke's gap is smaller)
SOLO_ASPECT = 1.5  # a group alone (no other digit in its row) is looked at as several only when this wide
PART_HEIGHT = 0.55  # each piece of a cut is at least this fraction of the group's height tall,
PART_SIBLING = 0.65  # …and of the tallest piece's (digits differ by ±15 %; a 4's arm or a 9's tail is shorter),
PART_WIDTH = 0.12  # …this fraction of its height wide,
PART_INK = 0.08  # …and holds this fraction of its ink (or as much as a digit of the row needs, ROW_INK)
ONE_HEIGHT = 0.8  # a piece this tall may be narrower than PART_WIDTH (a "1")
STRAIGHT = 0.3  # a stroke whose tightest rotated box is this much narrower than long is straight (a "1")
LEAN_SHARE = 0.5  # strokes sharing this fraction of the narrower's columns are one digit's
VALLEY_REACH = 0.3  # a touching pair is cut within this fraction of the piece's width from its middle
FAINT_PEAK = 0.25  # a row is searched for paler digits at its ends (a lone digit's too), whose darkest ink is at least this fraction of the row's (and MIN_PEAK_INK),
FAINT_LEVEL = 0.25  # …thresholded at this fraction of that darkest ink (as locate does for the picture),
FAINT_JOIN = 0.15  # …fragments this many digit heights apart joined,
FAINT_SHARE = 0.5  # …pieces one above the other sharing this fraction of the narrower's columns,
FAINT_STACK = 0.3  # …and less than this many digit heights apart joined (the halves of a broken loop),
FAINT_HEIGHT = 0.7  # …as tall as the row's digits within this ratio (and its inverse),
FAINT_WIDTH = 2.5  # …at most this many digit heights wide (two pale digits are cut as any group),
FAINT_BAND = 1.2  # …searched this many digit heights above and below the row's line
FAINT_MARGIN = 0.05  # …and this many from the row's last digit (its pale rim is not a digit)
FAINT_ROOM = 0.5  # …and in the gaps of the row this many digit heights wide
FAINT_MIN_WIDTH = 0.3  # …where the picture leaves at least this many digit heights to search
HOLE_LEVEL = 0.2  # inside a group's outline, ink paler than this fraction of its darkest is paper (a loop's hole)
CORE_LEVEL = 0.4  # …and strokes are counted where it is darker than this (a small blurred hole is not paper)
TRIM_TALLER = 1.3  # a group this many times taller than the row's digit may be a digit touching a line:
TRIM_BAND = 0.75  # …it is looked at within this many digit heights of the row's line
TRIM_LINE = 0.1  # …when what runs out of that band is a straight line at most this many digit heights thick
MAX_DIGITS = 24  # a "row" of more digits than this is not a number (a texture): read the best digit only
JOIN_GAP = 0.12  # two neighbours at most this many digit heights apart (a cut leaves none) may be one digit's pieces,
JOIN_WIDTH = 2.0  # …when together they are at most this many digit heights wide (a wide 0 is 1.4, a flat 2 or 4 more)
HALVES_ASPECT = 1.0  # a piece of a row wider than this × its height may be two digits read as one,
HALVES_REACH = 0.4  # …cut within this fraction of its width from its middle (digits differ in width)
HALVES_CENTRE = 0.05  # …at its column of least ink, plus this many heights' worth of ink at the reach's end
PATH_STEP = 0.2  # …or along a path of least ink, each step sideways costing this fraction of a pixel of ink
LONE_OVERLAP = 0.15  # a lone group's halves share at most this many of its heights of columns (a % shares most)


def digits_in_row(groups: list[Strokes], ink: np.ndarray) -> list[Strokes]:
    """The digits of the row through ``groups[0]``, left to right (``ink``: the ink map they were found in)."""
    if not groups:
        return []
    if len(groups) == 1 and len(groups[0].contours) == 1 and not _wide(groups[0], SPLIT_ASPECT):
        return [groups[0]]  # one stroke no wider than a digit, nothing beside it: what the steps below give
    row = _grow(groups, ink)
    height = float(statistics.median(g.box[3] - g.box[1] for g in row))
    if len(row) == 1:  # one digit, or a number written so close its digits are one group: more evidence needed
        digits = split(row[0], height, SOLO_ASPECT / SPLIT_ASPECT, ink)
    else:
        digits = [piece for g in row for piece in split(g, height, ink=ink)]
    digits = [one for d in digits for one in _leaning_one(d)]
    return digits if len(digits) <= MAX_DIGITS else [groups[0]]


def joinable(digits: list[Strokes]) -> list[int]:
    """Indices ``i`` where ``digits[i]`` and ``digits[i + 1]`` may be the pieces of one digit read apart:
    a wide 0 cut at its thin side, a 4 or a broken 0 in two strokes. They stand close (``JOIN_GAP``) and
    together are no wider than one wide digit (``JOIN_WIDTH``). Whether they are one is left to the
    reader, by the model's answer (``predictor._takes``)."""
    if len(digits) < 2:
        return []
    height = float(statistics.median(d.box[3] - d.box[1] for d in digits))
    return [
        i
        for i, (a, b) in enumerate(zip(digits, digits[1:], strict=False))
        if b.box[0] - a.box[2] <= JOIN_GAP * height
        and max(a.box[2], b.box[2]) - min(a.box[0], b.box[0]) <= JOIN_WIDTH * height
    ]


def joined(a: Strokes, b: Strokes) -> Strokes:
    """One group of the strokes of ``a`` and ``b``."""
    box = (min(a.box[0], b.box[0]), min(a.box[1], b.box[1]), max(a.box[2], b.box[2]), max(a.box[3], b.box[3]))
    return Strokes(box, a.contours + b.contours, a.ink + b.ink)


def halves(g: Strokes, ink: np.ndarray) -> list[list[Strokes]]:
    """The ways to cut ``g`` in two near its middle, when it is wider than ``HALVES_ASPECT`` × its height:
    at its column of least ink, and along its path of least ink (``cut_path``) where that bends. Two
    digits written into each other that ``split`` left whole: where they share columns, no column
    parts them, but a path bending around their strokes does. A cut is kept only when both sides are
    digit-sized; which one (if any) is taken is left to the reader, as for ``joinable``
    (``predictor._takes``, ``predictor._regrouped``)."""
    x0, y0, x1, y1 = g.box
    gw, gh = x1 - x0, y1 - y0
    if gw <= HALVES_ASPECT * gh:
        return []
    mask, _ = stroke_masks(g, ink)
    reach = max(1, int(gw * HALVES_REACH))
    lo, hi = max(1, gw // 2 - reach), min(gw - 1, gw // 2 + reach + 1)
    if hi <= lo:
        return []
    columns = mask[:, lo:hi].sum(axis=0) + HALVES_CENTRE * gh * np.abs(np.arange(lo, hi) - gw // 2) / reach
    cut = lo + int(np.argmin(columns))
    cuts = [[_piece(mask, 0, cut, x0, y0), _piece(mask, cut, gw, x0, y0)]]
    path = cut_path(mask, lo, hi, gw // 2, reach)
    if np.any(path != cut):
        left = np.arange(gw)[None, :] < path[:, None]
        cuts.append([_piece_of(mask * left, x0, y0), _piece_of(mask * ~left, x0, y0)])
    total = float(mask.sum())
    return [[p[0] for p in pieces] for pieces in cuts if all(_digit_sized(p, gh, total, 0) for p in pieces)]


def between_strokes(g: Strokes, pieces: list[Strokes]) -> bool:
    """Whether the cut of ``g`` into ``pieces`` (``halves``) runs between its strokes, crossing none
    (every stroke lies within one piece, grown by a pixel), with the pieces side by side (sharing at
    most ``LONE_OVERLAP`` of its height of columns). Two digits written close enough to be grouped as
    one digit's broken strokes are cut so; a single mark (an ∞, a face's rim) is not, nor a % (a path
    weaves between its slash and its noughts, but its halves share most of their columns)."""
    x0, y0, x1, y1 = g.box
    if pieces[0].box[2] - pieces[-1].box[0] > LONE_OVERLAP * (y1 - y0):
        return False
    sides = []
    for piece in pieces:
        side = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.drawContours(side, list(piece.contours), -1, 1, thickness=-1, offset=(-x0, -y0))
        sides.append(cv2.dilate(side, np.ones((3, 3), np.uint8)) > 0)
    for contour in g.contours:
        stroke = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.drawContours(stroke, [contour], -1, 1, thickness=-1, offset=(-x0, -y0))
        inside = stroke > 0
        if not any(np.all(side[inside]) for side in sides):
            return False
    return True


def _grow(groups: list[Strokes], ink: np.ndarray) -> list[Strokes]:
    h, w = ink.shape
    first = groups[0]
    digit_h = first.box[3] - first.box[1]
    candidates = [g for g in groups[1:] if _could_be_a_digit(g, digit_h, w, h)]
    tall = [g for g in groups[1:] if g.box[3] - g.box[1] > TRIM_TALLER * digit_h]  # a digit touching a line?
    row = [first]
    while True:
        slope, intercept = _line(row)
        left, right = min(g.box[0] for g in row), max(g.box[2] for g in row)
        number = len(row) > 1 or _wide(first, SOLO_ASPECT)  # a number already: look harder for its digits
        options = [(g, g) for g in candidates]  # (the group found, the digit in it)
        if number:
            trimmed = (
                (g, _off_the_line(g, ink, digit_h, slope, intercept)) for g in tall if _near(g, left, right, digit_h)
            )
            options += [(g, t) for g, t in trimmed if t is not None]
        best, best_gap = None, None
        for g, digit in options:
            x0, y0, x1, y1 = digit.box
            gap = left - x1 if x1 <= left else x0 - right if x0 >= right else None
            if gap is None or gap > ROW_GAP * digit_h:
                continue
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            if abs(cy - (slope * cx + intercept)) > ROW_ALIGN * digit_h and not (
                len(row) == 1 and _level_with(first, digit)
            ):
                continue
            if best_gap is None or gap < best_gap:
                best, best_gap = (g, digit), gap
        if best is None:  # beside a lone dark digit too: a number's other digits in a paler pen
            faint = _faint_neighbour(row, ink, digit_h, slope, intercept)
            best = (faint, faint) if faint is not None else None
        if best is None:
            break
        row.append(best[1])
        for pool in (candidates, tall):
            if best[0] in pool:
                pool.remove(best[0])
    row = sorted(row, key=lambda g: g.box[0])
    if len(row) > 1:
        row = sorted(row + _faint_between(row, ink, digit_h), key=lambda g: g.box[0])
    return row


def _level_with(a: Strokes, b: Strokes) -> bool:
    """Whether ``b`` shares ROW_OVERLAP of the shorter one's height with ``a``: beside a single group
    the row's line is not known yet (its slope, where a taller or shorter digit's centre lies)."""
    shared = min(a.box[3], b.box[3]) - max(a.box[1], b.box[1])
    return shared >= ROW_OVERLAP * min(a.box[3] - a.box[1], b.box[3] - b.box[1])


def _near(g: Strokes, left: int, right: int, digit_h: int) -> bool:
    """Whether ``g`` overlaps the columns within ROW_GAP digit heights of the row's ends, outside the row."""
    return (
        g.box[2] > left - ROW_GAP * digit_h
        and g.box[0] < right + ROW_GAP * digit_h
        and (g.box[2] <= left or g.box[0] >= right)
    )


def _off_the_line(g: Strokes, ink: np.ndarray, digit_h: int, slope: float, intercept: float) -> Strokes | None:
    """The digit in a group too tall for the row because its strokes touch a line crossing the row
    (a margin line, the paper's edge), or None.

    The parts of the group above and below the row's band are the line: a straight line is fitted
    through them, the ink near it is erased, and what is left inside the band is taken when it
    looks like a digit of the row.
    """
    x0, y0, x1, y1 = g.box
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.drawContours(mask, list(g.contours), -1, 1, thickness=-1, offset=(-x0, -y0))
    yc = slope * (x0 + x1) / 2 + intercept - y0
    top, bottom = max(0, int(yc - TRIM_BAND * digit_h)), min(mask.shape[0], int(yc + TRIM_BAND * digit_h) + 1)
    outside = np.concatenate([np.argwhere(mask[:top]), np.argwhere(mask[bottom:]) + [bottom, 0]])
    if len(outside) < 2 or np.ptp(outside[:, 0]) < TRIM_LINE * digit_h:
        return None
    a, b = np.polyfit(outside[:, 0].astype(np.float64), outside[:, 1].astype(np.float64), 1)  # x = a·y + b
    spread = np.abs(outside[:, 1] - (a * outside[:, 0] + b))
    half = float(np.percentile(spread, 95)) + 1.5
    if half > TRIM_LINE * digit_h:
        return None  # what runs out of the band is not a thin straight line
    ys, xs = np.mgrid[0 : mask.shape[0], 0 : mask.shape[1]]
    keep = mask * (np.abs(xs - (a * ys + b)) > half)
    keep[:top], keep[bottom:] = 0, 0
    strokes = _strokes_of(keep, x0, y0)
    h, w = ink.shape
    if strokes is None or not _could_be_a_digit(strokes, digit_h, w, h):
        return None
    if (top > 0 and strokes.box[1] <= y0 + top) or (bottom < mask.shape[0] and strokes.box[3] >= y0 + bottom):
        return None  # runs out of the band: more of the line than of a digit
    return strokes


def _faint_neighbour(row: list[Strokes], ink: np.ndarray, digit_h: int, slope: float, intercept: float):
    """The nearest digit beside the row that is too faint for the picture's ink threshold, or None.

    A thin pen's strokes are paler than a marker's: beside a row of dark digits, or one dark digit,
    they fall below a threshold set by the darkest ink and break into specks. Next to either end of
    the row, the ink is thresholded again relative to the darkest ink there (``_faint_in``), and a
    piece that looks like a digit of the row, not too far from it, is taken with its own strokes.
    """
    left, right = min(g.box[0] for g in row), max(g.box[2] for g in row)
    reach = int((ROW_GAP + FAINT_WIDTH) * digit_h)
    margin = max(2, round(FAINT_MARGIN * digit_h))  # the pale rim of the row's own last digit
    peak = _row_peak(row, ink)
    line = (slope, intercept)
    found = [(s.box[0] - right, s) for s in _faint_in(ink, right + margin, right + reach, peak, digit_h, line, "right")]
    found += [(left - s.box[2], s) for s in _faint_in(ink, left - reach, left - margin, peak, digit_h, line, "left")]
    found = [(gap, s) for gap, s in found if gap <= ROW_GAP * digit_h]
    return min(found, key=lambda f: f[0])[1] if found else None


def _faint_between(row: list[Strokes], ink: np.ndarray, digit_h: int) -> list[Strokes]:
    """Pale digits in the gaps of a row (sorted left to right) wide enough to hold one."""
    margin = max(2, round(FAINT_MARGIN * digit_h))
    peak, line = _row_peak(row, ink), _line(row)
    found = []
    for a, b in zip(row, row[1:], strict=False):
        if b.box[0] - a.box[2] >= FAINT_ROOM * digit_h:
            found += _faint_in(ink, a.box[2] + margin, b.box[0] - margin, peak, digit_h, line, "between")
    return found


def _row_peak(row: list[Strokes], ink: np.ndarray) -> int:
    return max(int(ink[g.box[1] : g.box[3], g.box[0] : g.box[2]].max()) for g in row)


def _faint_in(
    ink: np.ndarray, xa: int, xb: int, row_peak: int, digit_h: int, line: tuple[float, float], side: str
) -> list[Strokes]:
    """Digits of the row's height on its line between columns ``xa`` and ``xb``, found in a paler pen.

    The ink there is thresholded relative to its own darkest ink, the fragments closer than
    ``FAINT_JOIN`` digit heights joined (and those one above the other, ``_stacked``), and a piece
    is kept when it looks like a digit of the row and does not run out of the searched band (a
    ruled line; a digit touching a line across the band is taken off it, ``_off_the_line``) nor,
    ``side`` of the row, out of the far end of the searched columns.
    """
    h, w = ink.shape
    slope, intercept = line
    xa, xb = max(0, xa), min(w, xb)
    if xb - xa < FAINT_MIN_WIDTH * digit_h:
        return []
    yc = slope * (xa + xb) / 2 + intercept
    ya, yb = max(0, int(yc - FAINT_BAND * digit_h)), min(h, int(yc + FAINT_BAND * digit_h))
    region = ink[ya:yb, xa:xb]
    peak = int(region.max()) if region.size else 0
    if peak < max(MIN_PEAK_INK, FAINT_PEAK * row_peak):
        return []
    mask = (region >= max(MIN_INK, FAINT_LEVEL * peak)).astype(np.uint8)
    k = max(3, round(FAINT_JOIN * digit_h) | 1)
    n, labels, _, _ = cv2.connectedComponentsWithStats(cv2.dilate(mask, np.ones((k, k), np.uint8)))
    parts = [_strokes_of(mask * (labels == i).astype(np.uint8), xa, ya) for i in range(1, n)]
    found = []
    for strokes in _stacked([p for p in parts if p is not None], digit_h):
        if strokes.box[1] <= ya or strokes.box[3] >= yb:  # runs out of the band: a line, or a digit touching one
            strokes = _off_the_line(strokes, ink, digit_h, slope, intercept)
            if strokes is None:
                continue
        bx0, by0, bx1, by1 = strokes.box
        if (side == "right" and bx1 >= xb) or (side == "left" and bx0 <= xa):
            continue  # runs out of the searched columns: a line, not a digit
        if bx0 <= 1 or by0 <= 1 or bx1 >= w - 1 or by1 >= h - 1:
            continue
        gh, cx, cy = by1 - by0, (bx0 + bx1) / 2, (by0 + by1) / 2
        if (
            FAINT_HEIGHT * digit_h <= gh <= digit_h / FAINT_HEIGHT
            and bx1 - bx0 <= FAINT_WIDTH * digit_h
            and abs(cy - (slope * cx + intercept)) <= ROW_ALIGN * digit_h
            and strokes.ink >= ROW_INK * gh * gh
        ):
            found.append(strokes)
    return found


def _stacked(parts: list[Strokes], digit_h: int) -> list[Strokes]:
    """``parts`` with those one above the other joined: the broken strokes of one pale digit (a loop's
    halves) that share most of their columns and are less than ``FAINT_STACK`` digit heights apart,
    unless together they are thin and straight (the fragments of a line)."""
    parts = sorted(parts, key=lambda p: p.box[1])
    out: list[Strokes] = []
    for p in parts:
        for i, q in enumerate(out):
            shared = min(p.box[2], q.box[2]) - max(p.box[0], q.box[0])
            narrower = min(p.box[2] - p.box[0], q.box[2] - q.box[0])
            joined = np.concatenate(q.contours + p.contours)
            if shared >= FAINT_SHARE * narrower and p.box[1] - q.box[3] <= FAINT_STACK * digit_h and not _thin(joined):
                box = (min(p.box[0], q.box[0]), q.box[1], max(p.box[2], q.box[2]), max(p.box[3], q.box[3]))
                out[i] = Strokes(box, q.contours + p.contours, q.ink + p.ink)
                break
        else:
            out.append(p)
    return out


def _strokes_of(part: np.ndarray, xa: int, ya: int) -> Strokes | None:
    """The strokes of a binary ``part`` of the image whose top left corner is (xa, ya)."""
    points = cv2.findNonZero(part)
    if points is None:
        return None
    x, y, bw, bh = cv2.boundingRect(points)
    contours, _ = cv2.findContours(part, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    shifted = tuple(c + np.array([[xa, ya]], np.int32) for c in contours)
    return Strokes((xa + x, ya + y, xa + x + bw, ya + y + bh), shifted, float(len(points)))


def _wide(g: Strokes, aspect: float) -> bool:
    return g.box[2] - g.box[0] > aspect * (g.box[3] - g.box[1])


def _could_be_a_digit(g: Strokes, digit_h: int, w: int, h: int) -> bool:
    x0, y0, x1, y1 = g.box
    gh = y1 - y0
    on_edge = x0 <= 1 or y0 <= 1 or x1 >= w - 1 or y1 >= h - 1
    return not on_edge and ROW_HEIGHT * digit_h <= gh <= digit_h / ROW_HEIGHT and g.ink >= ROW_INK * gh * gh


def _line(row: list[Strokes]) -> tuple[float, float]:
    """(slope, intercept) of the least-squares line through the centres of the row's groups (level with
    one group). Plain floats: a row holds a handful of groups, for which numpy's polyfit costs more."""
    cx = [(g.box[0] + g.box[2]) / 2 for g in row]
    cy = [(g.box[1] + g.box[3]) / 2 for g in row]
    mx, my = sum(cx) / len(cx), sum(cy) / len(cy)
    spread = sum((x - mx) ** 2 for x in cx)
    slope = 0.0
    if spread > 0:
        slope = sum((x - mx) * (y - my) for x, y in zip(cx, cy, strict=True)) / spread
        slope = min(max(slope, -MAX_SLOPE), MAX_SLOPE)
    return slope, my - slope * mx


def split(g: Strokes, digit_h: float, strict: float = 1.0, ink: np.ndarray | None = None) -> list[Strokes]:
    """``g`` as one or more digits, left to right (``digit_h``: the row's typical digit height; ``strict``
    multiplies the aspect ratios that call for a cut; ``ink``, the picture's ink map, shows the holes
    of loops, which the group's outer contours fill)."""
    x0, y0, x1, y1 = g.box
    gw, gh = x1 - x0, y1 - y0
    height = max(gh, digit_h)
    if len(g.contours) < 2 and gw <= SPLIT_ASPECT * height:
        return [g]  # one stroke no wider than a digit
    mask, core = stroke_masks(g, ink)
    columns = mask.sum(axis=0)
    total = float(mask.sum())
    spans = _merge_small(mask, _blank_separated(columns), gh, total)
    apart = all(b[0] - a[1] >= CLEAR_GAP * gh for a, b in zip(spans, spans[1:], strict=False))
    if gw <= SPLIT_ASPECT * strict * height and not (len(spans) > 1 and apart):
        return [g]  # narrower than SPLIT_ASPECT (SOLO_ASPECT alone): cut only where digits stand clearly apart
    if gw <= SPLIT_ASPECT * height and not any(_straight(mask[:, a:b]) for a, b in spans):
        return [g]  # two digits this narrow: one of them is a "1" (the arcs of a broken 0 are not straight)
    touch = height * (strict if len(spans) == 1 else 1.0)  # digits apart already: a number, not one wide digit
    cuts = [c for a, b in spans for c in _cut_touching(mask, core, a, b, touch)]
    for ranges in (cuts, spans):  # touching digits cut, else only the blank-separated ones
        if len(ranges) < 2:
            continue
        pieces = [_piece(mask, a, b, x0, y0) for a, b in ranges]
        tallest = max(p[1] for p in pieces)
        if all(_digit_sized(p, gh, total, tallest) for p in pieces):
            return [p[0] for p in pieces]
    return [g]


def stroke_masks(g: Strokes, ink: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(the group's ink, the strokes' cores: where a column's strokes are counted), 0/1 over its box.

    The group's outer contours, filled; with ``ink`` (the picture's ink map), the loops' holes, which
    the outer contours fill, are opened again, and the cores are the ink darker than CORE_LEVEL."""
    x0, y0, x1, y1 = g.box
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.drawContours(mask, list(g.contours), -1, 1, thickness=-1, offset=(-x0, -y0))
    if ink is None:
        return mask, mask
    inside = ink[y0:y1, x0:x1]
    peak = float(inside[mask > 0].max(initial=0))
    mask[inside < HOLE_LEVEL * peak] = 0
    return mask, mask * (inside >= CORE_LEVEL * peak)


def _leaning_one(g: Strokes) -> list[Strokes]:
    """``g`` cut between its strokes when they stand side by side and one is a straight stroke: a 1
    leaning on its neighbour shares columns with it (no column cut parts them) but not a stroke.

    Strokes sharing most of their columns (``LEAN_SHARE`` of the narrower's) are one digit's (a 4's
    two strokes, a 5's bar); the cut is kept only when both sides are digit-sized, as any cut.
    """
    if len(g.contours) < 2:
        return [g]
    x0, y0, x1, y1 = g.box
    parts: list[list[np.ndarray]] = []
    for c in sorted(g.contours, key=lambda c: int(c[:, 0, 0].min())):
        a, b = int(c[:, 0, 0].min()), int(c[:, 0, 0].max()) + 1
        if parts:
            pa, pb = int(min(q[:, 0, 0].min() for q in parts[-1])), int(max(q[:, 0, 0].max() for q in parts[-1])) + 1
            if min(b, pb) - max(a, pa) >= LEAN_SHARE * min(b - a, pb - pa):
                parts[-1].append(c)
                continue
        parts.append([c])
    if len(parts) != 2:
        return [g]
    pieces = []
    for contours in parts:
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.drawContours(mask, contours, -1, 1, thickness=-1, offset=(-x0, -y0))
        strokes = _strokes_of(mask, x0, y0)
        pieces.append((strokes, strokes.box[3] - strokes.box[1], strokes.ink))
    tallest, total = max(p[1] for p in pieces), sum(p[2] for p in pieces)
    straight = [_thin(np.concatenate(contours)) for contours in parts]
    if sum(straight) == 1 and all(_digit_sized(p, y1 - y0, total, tallest) for p in pieces):
        return [p[0] for p in pieces]
    return [g]


def _merge_small(mask: np.ndarray, spans: list[tuple[int, int]], group_h: int, total: float) -> list[tuple[int, int]]:
    """Spans that are not digit-sized (a speck, a detached bar) joined to their nearer neighbour."""
    spans = list(spans)
    while len(spans) > 1:
        pieces = [_piece(mask, a, b, 0, 0) for a, b in spans]
        tallest = max(p[1] for p in pieces)
        small = [i for i, p in enumerate(pieces) if not _digit_sized(p, group_h, total, tallest)]
        if not small:
            break
        i = small[0]
        left_gap = spans[i][0] - spans[i - 1][1] if i > 0 else None
        right_gap = spans[i + 1][0] - spans[i][1] if i + 1 < len(spans) else None
        j = i - 1 if right_gap is None or (left_gap is not None and left_gap <= right_gap) else i + 1
        a, b = min(spans[i][0], spans[j][0]), max(spans[i][1], spans[j][1])
        spans[min(i, j)] = (a, b)
        del spans[max(i, j)]
    return spans


def _blank_separated(columns: np.ndarray) -> list[tuple[int, int]]:
    """Column ranges [a, b) of ink separated by columns without any."""
    inked = np.concatenate([[0], (columns > 0).astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(inked))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _cut_touching(mask: np.ndarray, core: np.ndarray, a: int, b: int, height: float) -> list[tuple[int, int]]:
    """[a, b) cut at the column of least ink near its middle, again and again while a piece is too wide.

    Only a column that crosses a single stroke is a cut: touching digits meet in one stroke, while
    every column near the middle of one wide digit (a 0, a 2) crosses two or more, so it stays whole."""
    width = b - a
    if width <= TOUCH_ASPECT * height:
        return [(a, b)]
    reach = max(1, int(width * VALLEY_REACH))
    middle = (a + b) // 2
    lo, hi = max(a + 1, middle - reach), min(b - 1, middle + reach + 1)
    if hi <= lo:
        return [(a, b)]
    window = mask[:, lo:hi]
    strokes = strokes_crossed(core[:, lo:hi])
    offset = np.abs(np.arange(lo, hi) - middle) / max(reach, 1)
    cost = np.where(strokes == 1, window.sum(axis=0) / max(height, 1.0) + 0.2 * offset, np.inf)
    if not np.isfinite(cost).any():
        return [(a, b)]
    cut = lo + int(np.argmin(cost))
    return _cut_touching(mask, core, a, cut, height) + _cut_touching(mask, core, cut, b, height)


def cut_path(mask: np.ndarray, lo: int, hi: int, middle: int, reach: int) -> np.ndarray:
    """The x, row by row, of the top-to-bottom path through columns [lo, hi) of ``mask`` that crosses
    the least ink (``cut_paths`` with one window)."""
    return cut_paths(mask, [(lo, hi, middle, reach)])[0]


def cut_paths(mask: np.ndarray, windows: list[tuple[int, int, int, int]]) -> list[np.ndarray]:
    """For each window (lo, hi, middle, reach) of columns of ``mask``, side by side, the x, row by row,
    of the top-to-bottom path through [lo, hi) that crosses the least ink: one column sideways per
    row at most, each step costing ``PATH_STEP`` of a pixel of ink and paying for the pixel it passes
    (no slipping through a diagonal stroke), and every row ``HALVES_CENTRE`` more per ``reach`` away
    from ``middle``, as ``halves`` weighs its columns. One pass for all windows: they are laid side by
    side with a wall between them."""
    h = mask.shape[0]
    columns, starts = [], []
    for lo, hi, _, _ in windows:
        starts.append(sum(len(c) for c in columns) + len(columns))  # one wall column before each window
        columns.append(np.arange(lo, hi))
    wall = np.full((h, 1), np.inf, np.float32)
    parts = []
    for (lo, hi, middle, reach), cols in zip(windows, columns, strict=True):
        part = mask[:, lo:hi].astype(np.float32)
        part += (HALVES_CENTRE * np.abs(cols - middle) / reach)[None, :]
        parts += [wall, part]
    cost = np.concatenate(parts + [wall], axis=1)
    n = cost.shape[1]
    total = cost[0].copy()
    came = np.zeros((h, n), np.int8)  # the step (-1, 0, +1 columns) that reached each pixel most cheaply
    inf = np.array([np.inf], np.float32)
    everywhere = np.arange(n)
    for y in range(1, h):
        row = cost[y]
        from_left = np.concatenate([inf, total[:-1] + row[:-1]]) + PATH_STEP
        from_right = np.concatenate([total[1:] + row[1:], inf]) + PATH_STEP
        options = np.stack([from_left, total, from_right])
        best = options.argmin(axis=0)
        total = options[best, everywhere] + row
        came[y] = best - 1
    x = np.array([s + 1 + int(np.argmin(total[s + 1 : s + 1 + len(c)])) for s, c in zip(starts, columns, strict=True)])
    at = np.empty((h, len(windows)), np.int64)
    for y in range(h - 1, -1, -1):
        at[y] = x
        x = x + came[y, x]
    offsets = np.array([lo - s - 1 for (lo, *_), s in zip(windows, starts, strict=True)])
    return list((at + offsets[None, :]).T)


def strokes_crossed(ink_along: np.ndarray) -> np.ndarray:
    """How many strokes a line from top to bottom crosses, from the ink (0/1) along it (axis 0): its
    runs of ink. Per column for a 2-D array, one count for a path's ink."""
    along = ink_along.astype(np.int8)
    return np.count_nonzero(np.diff(along, axis=0) == 1, axis=0) + along[0]


def _straight(part: np.ndarray) -> bool:
    """Whether the ink of ``part`` is one straight stroke (a "1"): its tightest rotated box is thin."""
    points = cv2.findNonZero(part)
    return points is not None and _thin(points)


def _thin(points: np.ndarray) -> bool:
    """Whether the tightest rotated box of ``points`` is thin (a straight stroke, a line's fragments)."""
    (_, _), (a, b), _ = cv2.minAreaRect(points)
    return min(a, b) <= STRAIGHT * max(a, b)


def _piece(mask: np.ndarray, a: int, b: int, x0: int, y0: int) -> tuple[Strokes, int, float]:
    """(the strokes of columns [a, b) of the group's mask, their height, their ink)."""
    part = np.zeros_like(mask)
    part[:, a:b] = mask[:, a:b]
    return _piece_of(part, x0, y0)


def _piece_of(part: np.ndarray, x0: int, y0: int) -> tuple[Strokes, int, float]:
    """(the strokes of ``part``, some ink of a group's mask at (x0, y0), their height, their ink)."""
    contours, _ = cv2.findContours(part, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    rows = np.flatnonzero(part.any(axis=1))
    cols = np.flatnonzero(part.any(axis=0))
    if len(rows) == 0:
        return Strokes((x0, y0, x0 + 1, y0 + 1), (), 0.0), 0, 0.0
    ink = float(part.sum())
    box = (x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1)
    shifted = tuple(c + np.array([[x0, y0]], np.int32) for c in contours)
    return Strokes(box, shifted, ink), int(rows[-1] - rows[0] + 1), ink


def digit_piece(part: np.ndarray, x0: int, y0: int, group_h: int, total_ink: float) -> Strokes | None:
    """The strokes of ``part`` (some ink of a group's mask at (x0, y0)) when they are digit-sized beside
    the group (``group_h`` tall, ``total_ink`` in all), else None."""
    piece = _piece_of(part, x0, y0)
    return piece[0] if _digit_sized(piece, group_h, total_ink, 0) else None


def _digit_sized(piece: tuple[Strokes, int, float], group_h: int, total_ink: float, tallest: int) -> bool:
    strokes, height, ink = piece
    width = strokes.box[2] - strokes.box[0]
    wide_enough = width >= PART_WIDTH * group_h or height >= ONE_HEIGHT * group_h  # a "1" may be a hairline
    enough_ink = ink >= min(PART_INK * total_ink, ROW_INK * group_h * group_h)  # a thin "1" in a long group
    tall_enough = height >= max(PART_HEIGHT * group_h, PART_SIBLING * tallest)
    return tall_enough and wide_enough and enough_ink
