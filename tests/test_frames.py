"""Digits inside a frame (a box, a form's row of boxes) are read; a face's circle is no frame."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from conftest import encoded

pytestmark = pytest.mark.runtime

PAPER, INK, CELL = 235, 30, 90


def _jpeg(canvas: np.ndarray) -> bytes:
    return encoded(Image.fromarray(canvas.astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.7)), "JPEG", quality=88)


def _write(canvas: np.ndarray, digit: np.ndarray, x: int, y: int, size: int = 84) -> None:
    """A real MNIST digit (light on dark, 28×28) written in dark ink at (x, y), ``size`` pixels a side."""
    ink = cv2.resize(digit, (size, size), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
    canvas[y : y + size, x : x + size] = canvas[y : y + size, x : x + size] * (1 - ink) + INK * ink


def _boxed(digits: list[np.ndarray]) -> bytes:
    """Digits side by side, each in the cell of one drawn box (a form's field), on 640×360 paper."""
    canvas = np.full((360, 640), PAPER, np.float32)
    x0, y0 = 140, 130
    for k, digit in enumerate(digits):
        _write(canvas, digit, x0 + k * CELL + 3, y0 + 3)
    picture = Image.fromarray(canvas.astype(np.uint8))
    draw = ImageDraw.Draw(picture)
    draw.rectangle([x0 - 4, y0 - 4, x0 + len(digits) * CELL + 2, y0 + CELL + 2], outline=60, width=2)
    for k in range(1, len(digits)):
        draw.line([x0 + k * CELL - 2, y0 - 4, x0 + k * CELL - 2, y0 + CELL + 2], fill=60, width=2)
    return _jpeg(np.asarray(picture, np.float32))


def test_a_digit_in_a_box_is_read(predictor, sample):
    pairs = list(zip(sample.x_test[:20], sample.y_test[:20], strict=True))
    right = sum(predictor.predict(_boxed([digit])).digits == str(label) for digit, label in pairs)
    assert right >= 18  # before, the box's outline was read instead: none of 20 right


def test_a_number_in_a_row_of_boxes_is_read(predictor, sample):
    numbers = [(sample.x_test[i : i + 4], "".join(map(str, sample.y_test[i : i + 4]))) for i in range(20, 40, 4)]
    right = sum(predictor.predict(_boxed(list(digits))).digits == text for digits, text in numbers)
    assert right >= 4  # of 5 (none before)


def test_a_face_is_no_frame(predictor):
    picture = Image.new("L", (480, 360), PAPER)
    draw = ImageDraw.Draw(picture)
    draw.ellipse([180, 100, 300, 220], outline=INK, width=5)
    draw.ellipse([212, 135, 224, 147], fill=INK)
    draw.ellipse([256, 135, 268, 147], fill=INK)
    draw.arc([210, 150, 270, 195], 20, 160, fill=INK, width=5)
    assert predictor.predict(_jpeg(np.asarray(picture, np.float32))).digits == ""


def test_a_dotted_zero_keeps_its_dot_inside(predictor, sample):
    zero = sample.x_test[sample.y_test == 0][0]
    canvas = np.full((360, 480), PAPER, np.float32)
    _write(canvas, zero, 180, 120, size=112)
    ys, xs = np.nonzero(zero > 128)
    cy, cx = 120 + int(ys.mean() * 4), 180 + int(xs.mean() * 4)
    canvas[cy - 4 : cy + 4, cx - 4 : cx + 4] = INK
    assert predictor.predict(_jpeg(canvas)).digits == "0"
