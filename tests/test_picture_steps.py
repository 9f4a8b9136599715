"""How many whole-image steps a picture takes on its way to an answer (the 640×480 JPEG path, issue 12)."""

from __future__ import annotations

import importlib
import io

import numpy as np
import pytest
from PIL import Image

from mnist_edge.runtime import locate

preprocess = importlib.import_module("mnist_edge.runtime.preprocess")  # the package exports a function of that name

pytestmark = pytest.mark.runtime


def page_with_digit(digit28: np.ndarray, side: int, size=(640, 480), at=(200, 120)) -> bytes:
    """A JPEG of a light, unevenly lit page with one dark digit ``side`` pixels tall."""
    w, h = size
    paper = 235 - 25 * np.linspace(0, 1, w)[None, :] + np.zeros((h, 1))
    ink = np.asarray(Image.fromarray(digit28).resize((side, side), Image.Resampling.BILINEAR), np.float64) / 255
    x, y = at
    paper[y : y + side, x : x + side] *= 1 - 0.8 * ink
    buffer = io.BytesIO()
    Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8)).convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture
def ink_maps(monkeypatch):
    """Counts the ink maps computed (finding the digit and cropping it)."""
    calls = []
    real = locate.ink_map

    def counted(gray, kernel, dark=None):
        calls.append(gray.shape)
        return real(gray, kernel, dark)

    monkeypatch.setattr(locate, "ink_map", counted)
    monkeypatch.setattr(preprocess, "ink_map", counted)
    return calls


@pytest.mark.parametrize(
    "side", [80, 200]
)  # digits ≈ 29 and 71 working pixels: within and beyond twice the paper kernel
def test_a_digit_cropped_from_the_working_image_reuses_its_ink_map(sample, predictor, ink_maps, side):
    i = 0
    data = page_with_digit(sample.x_test[i], side)
    result = predictor.predict(data)
    assert result.label == int(sample.y_test[i])
    assert ink_maps == [(240, 320)]  # one ink map, the working image's: none again for the crop


def test_a_digit_too_small_for_the_working_image_is_measured_again_in_a_finer_decode(sample, predictor, ink_maps):
    i = 0
    data = page_with_digit(sample.x_test[i], 28)  # 14 working pixels: decoded again at full size
    result = predictor.predict(data)
    assert result.label == int(sample.y_test[i])
    assert len(ink_maps) == 2 and ink_maps[0] == (240, 320) and max(ink_maps[1]) < 100


def test_one_narrow_stroke_alone_is_the_digit_without_the_row_steps(monkeypatch):
    from mnist_edge.runtime import row

    ink = np.zeros((100, 100), np.uint8)
    narrow = locate.Strokes(
        (40, 20, 60, 70), (np.array([[[40, 20]], [[59, 20]], [[59, 69]], [[40, 69]]], np.int32),), 900.0
    )
    wide = locate.Strokes(
        (10, 20, 90, 50), (np.array([[[10, 20]], [[89, 20]], [[89, 49]], [[10, 49]]], np.int32),), 900.0
    )
    steps = []
    real = row._grow
    monkeypatch.setattr(row, "_grow", lambda groups, ink: steps.append(len(groups)) or real(groups, ink))
    assert row.digits_in_row([narrow], ink) == [narrow] and steps == []
    row.digits_in_row([wide], ink)  # as wide as two digits: looked at as a number
    row.digits_in_row([narrow, wide], ink)  # something beside it
    assert steps == [1, 2]
