"""A digit with a line drawn under it is read without the line; a letter's base or a digit's own is kept."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import encoded
from mnist_edge.runtime.preprocess import read_digits, without_underline
from mnist_edge.runtime.underline import underline

pytestmark = pytest.mark.runtime

SIDE = 120  # the digit's 28×28 frame, drawn this many pixels a side


def underlined(digit: np.ndarray, gap: float, reach: float, angle: float = 0.0, line: bool = True) -> bytes:
    """A real MNIST digit dark on light paper, with a line under it: ``gap`` (of the digit's height) below
    its ink (negative: touching), reaching ``reach`` of the digit's width beyond it on each side."""
    ink = cv2.resize(digit, (SIDE, SIDE), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
    ys, xs = np.nonzero(ink > 0.3)
    height, width = ys.max() - ys.min(), xs.max() - xs.min()
    canvas = np.zeros((2 * SIDE, 2 * SIDE), np.float32)
    canvas[SIDE // 2 : SIDE // 2 + SIDE, SIDE // 2 : SIDE // 2 + SIDE] = ink
    y = SIDE // 2 + ys.max() + round(gap * height) + 3
    half = (0.5 + reach) * width
    centre = SIDE // 2 + (xs.min() + xs.max()) / 2
    rise = half * np.tan(np.deg2rad(angle))
    bar = np.zeros_like(canvas)
    if line:
        cv2.line(
            bar, (round(centre - half), round(y - rise)), (round(centre + half), round(y + rise)), 1.0, 7, cv2.LINE_AA
        )
    paper = 225 - 190 * np.maximum(canvas, bar)
    return encoded(paper.astype(np.uint8), "JPEG", quality=90)


@pytest.mark.parametrize(("gap", "reach", "angle", "least"), [(-0.05, 0.2, 0.0, 22), (0.1, 0.25, 3.0, 28)])
def test_an_underlined_digit_is_read_without_its_line(predictor, sample, gap, reach, angle, least):
    """Touching the digit or drawn below it, level or not: the digit is read without its line. Here 24
    and 30 of these 30 are right; read as one mark with the line, 7 and 24 were."""
    pairs = list(zip(sample.x_test[:30], sample.y_test[:30], strict=True))
    right = sum(predictor.predict(underlined(d, gap, reach, angle)).digits == str(t) for d, t in pairs)
    assert right >= least


def test_the_line_is_looked_for_only_in_a_lone_digit_read_doubtfully(predictor, sample):
    """A lone digit keeps its soft ink, in which ``without_underline`` finds the line; a surely read
    digit is answered without looking (finding the line costs more than the model call)."""
    found = read_digits(underlined(sample.x_test[0], -0.05, 0.2))
    plain = without_underline(found.readings[0])
    assert len(found.readings) == 1 and plain is not None
    assert predictor.predict(underlined(sample.x_test[0], -0.05, 0.2)).digits == str(sample.y_test[0])
    clean = read_digits(underlined(sample.x_test[0], 0.1, 0.2, line=False))
    assert without_underline(clean.readings[0]) is None


def mark(draw) -> np.ndarray:
    """A soft-ink crop (float32 0…1) of what ``draw`` draws on a 100×100 canvas, cut to its ink."""
    canvas = np.zeros((100, 100), np.uint8)
    draw(canvas)
    x, y, w, h = cv2.boundingRect(canvas)
    return canvas[y : y + h, x : x + w].astype(np.float32) / 255


def test_a_base_that_leaves_the_mark_on_one_side_is_not_a_line_under_it():
    """An L's base, a Z's or a 2's, starts where the mark's stroke comes down: it is part of the mark."""

    def letter_l(c):
        cv2.line(c, (30, 10), (30, 80), 255, 8)
        cv2.line(c, (30, 80), (80, 80), 255, 8)

    def one_underlined(c):
        cv2.line(c, (50, 10), (50, 75), 255, 8)
        cv2.line(c, (20, 85), (80, 85), 255, 8)

    def ring(c):
        cv2.circle(c, (50, 50), 35, 255, 8)

    assert underline(mark(letter_l)) is None
    assert underline(mark(ring)) is None
    bar = underline(mark(one_underlined))
    assert bar is not None and bar[-8:].any() and not bar[:60].any()  # the bar, not the stroke above it
