"""Not a digit, from the picture around the digit: a piece of a larger pattern (issue 13).

The model sees only the 28×28 of what ``locate`` picked, and a piece of a texture (one stripe, one
wave), of a hatching or of a drawing's outline often *is* digit-shaped: a stripe is a fine "1". The
picture says what the 28×28 cannot: the strokes picked are a small part of a pattern of similar
strokes around them. A digit on paper, in a photo or a scan, or a number, holds most of the picture's
stroke ink: ruled lines are dropped by ``locate`` before this, and solid regions (a table, a shadow
band, a dark object) are not strokes.

``PATTERN_SHARE`` was set on the digit pictures of the picture and number benchmarks (1,750 pictures,
``build/picture-sets``, ``build/number-tune7`` and ``-tune11``): the lowest share of one read correctly
was 0.34, so 0.2 leaves a margin of 1.7× below every digit seen.
"""

from __future__ import annotations

import cv2
import numpy as np

from .locate import Strokes, ink_threshold

PATTERN_SHARE = 0.2  # the digits hold less than this fraction of the picture's stroke ink: a piece of a pattern
SOLID_WIDTHS = 3  # ink wider than this many of the digits' stroke widths is a solid region, not strokes
REPEATED_MARKS = 8  # a row of at least this many marks all read as one digit is a pattern, not a number


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
    strokes = (ink > level).view(np.uint8)
    digit_area = np.zeros(ink.shape, np.uint8)
    cv2.drawContours(digit_area, contours, -1, 1, thickness=-1)
    digit_ink = cv2.countNonZero(strokes[y0:y1, x0:x1] & digit_area[y0:y1, x0:x1])
    # the others' outlines bound their ink from above: when even that is too little, nothing to measure
    if sum(cv2.contourArea(c) + cv2.arcLength(c, True) + 1 for c in others) <= digit_ink * (1 / PATTERN_SHARE - 1):
        return False
    other_area = np.zeros(ink.shape, np.uint8)
    cv2.drawContours(other_area, others, -1, 1, thickness=-1)
    other_ink = strokes & other_area & (digit_area ^ 1)
    width = 2 * digit_ink / max(sum(cv2.arcLength(c, True) for c in contours), 1.0)
    side = max(3, round(SOLID_WIDTHS * width) | 1)
    solid = cv2.morphologyEx(other_ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side)))
    other_stroke_ink = cv2.countNonZero(other_ink) - cv2.countNonZero(other_ink & solid)
    return digit_ink < PATTERN_SHARE * (digit_ink + other_stroke_ink)


def repeated_marks(labels: list[int]) -> bool:
    """True when a row's digits are REPEATED_MARKS or more, all read as the same digit: the bars of a
    barcode, a fence or stripes ("11111111…"), a string of beads or rings ("0000…"), which hold all the
    picture's ink, so ``part_of_a_pattern`` cannot tell. Numbers people write are shorter or vary."""
    return len(labels) >= REPEATED_MARKS and len(set(labels)) == 1
