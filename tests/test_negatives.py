"""Non-digits for outlier exposure: every kind made, normalised by the runtime, seeded, no bar a person reads as 1."""

import numpy as np
import pytest

from mnist_edge.contract import SIDE
from mnist_edge.training import negatives
from mnist_edge.training.data import load_path

pytestmark = pytest.mark.export


@pytest.fixture(scope="module")
def train_digits(sample_dir):
    return load_path(sample_dir).x_test[:64]


def test_negatives_are_runtime_normalised_seeded_and_of_every_kind(train_digits):
    a = negatives.make_negatives(train_digits, seed=3, per_kind=12)
    b = negatives.make_negatives(train_digits, seed=3, per_kind=12)
    np.testing.assert_array_equal(a.x, b.x)
    assert {"overlaid_digits", "scribbles", "drawings", "patterns", "blotches"} <= set(a.kinds)
    assert len(a.x) == sum(a.kinds.values()) and all(0 < n <= 12 for n in a.kinds.values())
    assert a.x.dtype == np.float32 and a.x.min() >= 0 and a.x.max() <= 1
    # every one went through the runtime's normalisation: its ink fits MNIST's 20 px box (plus anti-aliasing)
    for image in a.x.reshape(-1, SIDE, SIDE):
        rows, cols = np.nonzero(image > 0.3)
        assert max(np.ptp(rows), np.ptp(cols)) + 1 <= 22
    assert min(negatives._ink_columns(x) for x in a.x) >= negatives.MIN_INK_COLUMNS
    assert a.describe()["images"] == len(a.x)
    other = negatives.make_negatives(train_digits, seed=4, per_kind=12)
    assert not np.array_equal(other.x[:5], a.x[:5])


def test_digit_like_letters_are_never_taught_as_non_digits():
    for letter in "OoIlSZB":
        assert letter not in negatives.LETTERS
    assert "A" in negatives.LETTERS and "x" in negatives.LETTERS


def test_symbols_that_read_as_a_one_are_never_taught_as_non_digits():
    for symbol in "|/\\()[]{}!":
        assert symbol not in negatives.SYMBOLS
    assert "+" in negatives.SYMBOLS and "@" in negatives.SYMBOLS


def test_a_font_without_the_glyph_is_not_asked_to_draw_it():
    from PIL import ImageFont

    from mnist_edge.fonts import training_fonts

    fonts = training_fonts()
    if not fonts:
        pytest.skip("no training fonts installed (make fonts)")
    face = ImageFont.truetype(str(fonts[0]), 40)
    assert negatives._has_glyph(face, "A")
    assert not negatives._has_glyph(face, "\U000f0001")  # private use: the font's "missing glyph" box
