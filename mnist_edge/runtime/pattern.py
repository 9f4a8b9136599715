"""Not a digit, from the picture around the digit: a piece of a larger pattern, or the rim of a dark
object (issue 13).

The model sees only the 28×28 of what ``locate`` picked, and a piece of a texture (one stripe, one
wave), of a hatching or of a drawing's outline often *is* digit-shaped: a stripe is a fine "1". The
picture says what the 28×28 cannot: the strokes picked are a small part of a pattern of similar
strokes around them. A digit on paper, in a photo or a scan, or a number, holds most of the picture's
stroke ink: ruled lines are dropped by ``locate`` before this, and solid regions (a table, a shadow
band, a dark object) are not strokes.

``PATTERN_SHARE`` was set on the digit pictures of the picture and number benchmarks (1,750 pictures,
``build/picture-sets``, ``build/number-tune7`` and ``-tune11``): the lowest share of one read correctly
was 0.34, so 0.2 leaves a margin of 1.7× below every digit seen.

The rim of a dark object: the paper estimate takes a solid object wider than its kernel (a cup, a
ball, a bottle in a photo) for paper, and its shaded rim, where it is darkest, for ink: a sliver that
reads as a fine "1" or an arc. Ink on paper has paper around it; a rim has the object along one side,
a solid region nearly as dark as the strokes. ``EDGE_TOUCH`` was set on the non-digit "objects" of
``build/non-digits`` and the same digit pictures: of the rims read as digits, 19 of 29 measure
0.25–0.53; of the picture sets' digits, all but two measure 0 (0.17 for a digit read right; 0.48 where
the search picked a table's corner instead of a tiny digit); of the 500 held-out numbers' first
digits, five measure 0.3–0.7 (thick strokes beside a shadow), which is why a number is refused only
when every one of its digits is a rim, and the solid region must be larger than the strokes. First set
at 0.35, it was lowered to 0.25, still above every digit read right (0.17): a cup's handle touches the
cup along one side only (every object that changed was a cup whose handle had read as a 7 or a 2).
Objects of five seeds read as digits fell by 5–10 of 100 each; no digit of the picture or number sets
answered differently, and one chalk digit of 100, its polarity misjudged, became "not a digit".
"""

from __future__ import annotations

import cv2
import numpy as np

from .locate import Strokes, ink_threshold, percentiles

PATTERN_SHARE = 0.2  # the digits hold less than this fraction of the picture's stroke ink: a piece of a pattern
SOLID_WIDTHS = 3  # ink wider than this many of the digits' stroke widths is a solid region, not strokes
REPEATED_MARKS = 8  # a row of at least this many marks all read as one digit is a pattern, not a number
EDGE_LEVEL = 0.25  # gray within this fraction of the strokes' contrast to the paper is as dark as the strokes
EDGE_TOUCH = 0.25  # strokes whose surroundings are this much a solid region that dark are the rim of an object
RIM_MARGIN = 0.5  # the surroundings are looked at up to this many of the strokes' long side around them,
RIM_SIDE_LEVEL = 0.5  # …and only when, just outside one side of their box, half the pixels are this dark;
RIM_OBJECT = 2  # the solid region is at least this many times the strokes' area


def part_of_a_pattern(ink: np.ndarray, groups: list[Strokes], digits: list[Strokes]) -> bool:
    """True when ``digits`` (what was picked to read) hold under PATTERN_SHARE of the stroke ink of ``groups``.

    ``ink``: the ink map ``groups`` were found in. Stroke ink is ink above the digits' own threshold
    inside the groups' outlines (a hatching's gaps are paper), less what survives an opening
    SOLID_WIDTHS digit strokes wide (solid regions). Measured only when the other groups' outlines
    could hold enough ink: one picked group with nothing else costs nothing.
    """
    picked = {id(c) for d in digits for c in d.contours}
    others = [c for g in groups for c in g.contours if id(c) not in picked]
    if not digits or not others:
        return False
    contours = [c for d in digits for c in d.contours]
    x0, y0 = min(d.box[0] for d in digits), min(d.box[1] for d in digits)
    x1, y1 = max(d.box[2] for d in digits), max(d.box[3] for d in digits)
    level = ink_threshold(int(ink[y0:y1, x0:x1].max()))
    digit_area = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.drawContours(digit_area, contours, -1, 1, thickness=-1, offset=(-x0, -y0))
    digit_ink = cv2.countNonZero((ink[y0:y1, x0:x1] > level).view(np.uint8) & digit_area)
    # the others' outlines bound their ink from above: when even that is too little, nothing to measure
    if sum(cv2.contourArea(c) + cv2.arcLength(c, True) + 1 for c in others) <= digit_ink * (1 / PATTERN_SHARE - 1):
        return False
    width = _stroke_width(digit_ink, contours)
    # the rest is measured in the others' box grown by the opening's reach (``_solid``): outside it there
    # is no other ink, and inside it the opening sees every pixel it would see in the whole picture
    reach = _solid_side(width) // 2
    boxes = np.array([cv2.boundingRect(c) for c in others])
    h, w = ink.shape
    ox0, oy0 = max(0, int(boxes[:, 0].min()) - reach), max(0, int(boxes[:, 1].min()) - reach)
    ox1 = min(w, int((boxes[:, 0] + boxes[:, 2]).max()) + reach)
    oy1 = min(h, int((boxes[:, 1] + boxes[:, 3]).max()) + reach)
    area = np.zeros((oy1 - oy0, ox1 - ox0), np.uint8)
    cv2.drawContours(area, others, -1, 1, thickness=-1, offset=(-ox0, -oy0))
    cv2.drawContours(area, contours, -1, 0, thickness=-1, offset=(-ox0, -oy0))  # the digits' own ink is theirs
    other_ink = (ink[oy0:oy1, ox0:ox1] > level).view(np.uint8) & area
    solid = _solid(other_ink, width)
    other_stroke_ink = cv2.countNonZero(other_ink) - cv2.countNonZero(other_ink & solid)
    return digit_ink < PATTERN_SHARE * (digit_ink + other_stroke_ink)


def _stroke_width(area: float, contours) -> float:
    """The strokes' mean width: 2 × their ink area / the length of their outlines."""
    return 2 * area / max(sum(cv2.arcLength(c, True) for c in contours), 1.0)


def _solid(mask: np.ndarray, width: float) -> np.ndarray:
    """What of ``mask`` survives an opening SOLID_WIDTHS stroke ``width``s wide: solid regions, not strokes."""
    side = _solid_side(width)
    return cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side)))


def _solid_side(width: float) -> int:
    """The side (odd, pixels) of ``_solid``'s opening for strokes ``width`` wide."""
    return max(3, round(SOLID_WIDTHS * width) | 1)


def repeated_marks(labels: list[int]) -> bool:
    """True when a row's digits are REPEATED_MARKS or more, all read as the same digit: the bars of a
    barcode, a fence or stripes ("11111111…"), a string of beads or rings ("0000…"), which hold all the
    picture's ink, so ``part_of_a_pattern`` cannot tell. Numbers people write are shorter or vary."""
    return len(labels) >= REPEATED_MARKS and len(set(labels)) == 1


def on_a_dark_object(gray: np.ndarray, dark: bool, digit: Strokes) -> bool:
    """True when ``digit``'s strokes are the rim of a dark object, not ink on paper (see the module's text).

    ``gray``: the working image the strokes were found in, ``dark``: whether its ink is darker than
    its paper. Around the strokes (within twice their width), the share of pixels in a region as dark
    as the strokes (within EDGE_LEVEL of their contrast to the paper around them) that survives an
    opening SOLID_WIDTHS stroke widths wide. The share of such dark pixels at all bounds it from
    above: ink on paper, with paper around it, costs no opening.
    """
    h, w = gray.shape
    x0, y0, x1, y1 = digit.box
    margin = max(2, int(RIM_MARGIN * max(x1 - x0, y1 - y0)))
    cx0, cy0 = max(0, x0 - margin), max(0, y0 - margin)
    region = gray[cy0 : min(h, y1 + margin), cx0 : min(w, x1 + margin)]
    if not dark:
        region = cv2.bitwise_not(region)
    if not _dark_beside(region, (x0 - cx0, y0 - cy0, x1 - cx0, y1 - cy0)):
        return False
    strokes = np.zeros(region.shape, np.uint8)
    cv2.drawContours(strokes, digit.contours, -1, 1, thickness=-1, offset=(-cx0, -cy0))
    # histograms, not sorts: the strokes' median gray and the paper's (the region's 90th percentile)
    counts = cv2.calcHist([region], [0], strokes, [256], [0, 256]).ravel().cumsum()
    if counts[-1] == 0:
        return False
    ink_level = int(counts.searchsorted(counts[-1] / 2))
    paper = percentiles(region, (0.9,))[0]
    _, as_dark = cv2.threshold(region, ink_level + EDGE_LEVEL * (paper - ink_level), 1, cv2.THRESH_BINARY_INV)
    width = _stroke_width(float(counts[-1]), digit.contours)
    reach = max(3, round(2 * width) | 1)
    around = cv2.subtract(cv2.dilate(strokes, np.ones((reach, reach), np.uint8)), strokes)
    total = cv2.countNonZero(around)
    if cv2.countNonZero(cv2.bitwise_and(around, as_dark)) < EDGE_TOUCH * total:
        return False
    solid = _solid(as_dark, width)
    if cv2.countNonZero(cv2.bitwise_and(around, solid)) < EDGE_TOUCH * total:
        return False
    return cv2.countNonZero(solid) >= RIM_OBJECT * counts[-1]  # an object, not a small digit's own blotted ink


def _dark_beside(region: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    """Whether one side of ``box`` (in ``region``, ink dark) is mostly nearly as dark as the darkest ink in
    it: the columns or rows just outside each side, against the box's darkest and the region's brightest.
    Ink on paper has paper on every side: this settles the common digit in a few microseconds."""
    x0, y0, x1, y1 = box
    h, w = region.shape
    darkest = cv2.minMaxLoc(region[y0:y1, x0:x1])[0]
    level = darkest + RIM_SIDE_LEVEL * (cv2.minMaxLoc(region)[1] - darkest)
    sides = (
        region[y0:y1, max(0, x0 - 2)],
        region[y0:y1, min(w - 1, x1 + 1)],
        region[max(0, y0 - 2), x0:x1],
        region[min(h - 1, y1 + 1), x0:x1],
    )
    return any(2 * np.count_nonzero(side < level) >= side.size for side in sides)
