"""Printed digits for training: training fonts only, normalised by the runtime's own preprocessing."""

import fnmatch

import numpy as np
import pytest

from mnist_edge.fonts import HELD_OUT_FONTS, held_out_fonts, training_fonts
from mnist_edge.runtime.preprocess import preprocess
from mnist_edge.training import printed

pytestmark = pytest.mark.export

FONTS = training_fonts()
needs_fonts = pytest.mark.skipif(not FONTS, reason="no training font installed (make fonts)")


def is_held_out(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in HELD_OUT_FONTS)


def test_training_font_list_holds_no_held_out_font():
    held = {p.name for p in held_out_fonts()}
    names = [p.name for p in FONTS]
    assert not held & set(names)
    assert not [n for n in names if is_held_out(n)]
    assert "LinBiolinum_K.otf" not in names  # keyboard keys: a digit in a box


@needs_fonts
def test_rendered_digits_come_from_the_given_training_fonts_only():
    fonts = FONTS[:: max(1, len(FONTS) // 4)][:4]
    out = printed.render_fonts(fonts)
    assert set(out.fonts) <= {p.name for p in fonts}
    assert not [n for n in out.fonts if is_held_out(n)]
    assert out.describe()["font_files"] == len(out.fonts)


@pytest.mark.skipif(not held_out_fonts(), reason="no held-out font installed")
def test_a_held_out_font_is_refused(monkeypatch):
    with pytest.raises(ValueError, match="held-out"):
        printed.render_fonts(held_out_fonts()[:1])
    # even if the training list were wrong, the set used in training refuses it
    monkeypatch.setattr(printed, "training_fonts", lambda: held_out_fonts()[:2])
    printed.printed_digits.cache_clear()
    try:
        with pytest.raises(ValueError, match="held-out"):
            printed.printed_digits()
    finally:
        printed.printed_digits.cache_clear()


@needs_fonts
def test_rendered_digits_are_what_the_runtime_makes_of_them():
    font = FONTS[0]
    out = printed.render_fonts([font], heights=(40,))
    assert out.x.shape == (10, 784) and out.x.dtype == np.float32
    assert out.x.min() >= 0.0 and out.x.max() <= 1.0
    assert list(out.y) == list(range(10))
    for digit in (1, 7):
        gray = printed.render_digit(font, digit, 40)
        assert gray.dtype == np.uint8 and gray.min() < 64 and gray.max() == 255  # dark on light paper
        np.testing.assert_array_equal(out.x[digit], preprocess(gray))


def test_without_fonts_training_goes_on_without_printed_digits(monkeypatch):
    monkeypatch.setattr(printed, "training_fonts", lambda: [])
    printed.printed_digits.cache_clear()
    try:
        with pytest.warns(UserWarning, match="no training font"):
            empty = printed.printed_digits()
    finally:
        printed.printed_digits.cache_clear()
    assert empty.x.shape == (0, 784) and len(empty.y) == 0
