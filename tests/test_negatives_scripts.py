"""Letters of other scripts as negatives: never a digit or a digit-like letter, never a held-out script or
the held-out Naskh font, and a missing font only skips its script."""

import unicodedata

import numpy as np
import pytest
from PIL import ImageDraw

from mnist_edge.training import negatives, scripts

pytestmark = pytest.mark.export

ALL = scripts.TRAINED + scripts.HELD_OUT


@pytest.fixture(scope="module")
def digits(sample_dir):
    from mnist_edge.training.data import load_path

    return load_path(sample_dir).x_test[:16]


@pytest.fixture
def drawn(monkeypatch):
    """Every (text, font file name) that a picture is drawn with while the fixture is active."""
    seen = []
    text = ImageDraw.ImageDraw.text

    def recording(self, xy, txt, *args, **kwargs):
        seen.append((txt, kwargs["font"].path.rsplit("/", 1)[-1]))
        return text(self, xy, txt, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", recording)
    return seen


def test_no_script_lists_a_digit_or_keeps_a_digit_like_letter():
    for script in ALL:
        assert script.digit_like and set(script.digit_like) <= set(script.letters) or not script.digit_like
        for letter in script.alphabet:
            assert letter not in script.digit_like
            # a letter, never a digit; or a code point left unassigned inside a block's span, which no font draws
            # (negatives._has_glyph: another letter is drawn instead)
            assert unicodedata.category(letter)[0] in "L" or unicodedata.category(letter) == "Cn", (script.name, letter)
            assert unicodedata.numeric(letter, None) is None, (script.name, letter)
    by_name = {s.name: s for s in ALL}
    for name, letters in {"arabic": "اأإآ", "cyrillic": "ЗОоЧб", "greek": "ΟοΙιΖ", "hebrew": "וסן"}.items():
        assert not set(letters) & set(by_name[name].alphabet), name


def test_the_split_keeps_held_out_scripts_and_the_naskh_font_out_of_training():
    trained = {s.name for s in scripts.TRAINED}
    held = {s.name for s in scripts.HELD_OUT}
    assert not trained & held and {"hebrew", "thai", "greek", "arabic (naskh)"} <= held
    trained_letters = set().union(*(s.letters for s in scripts.TRAINED))
    for script in scripts.HELD_OUT:
        if script is not scripts.ARABIC_NASKH:  # the one held-out script that is a trained one in another font
            assert not set(script.letters) & trained_letters, script.name
    trained_fonts = {p for s in scripts.TRAINED for p in s.fonts}
    assert not set(scripts.ARABIC_NASKH.fonts) & trained_fonts


def test_training_draws_only_trained_letters_in_trained_fonts(digits, drawn):
    available = scripts.available(scripts.TRAINED)
    if not available:
        pytest.skip("no Noto script font installed (fonts-noto-core; make fonts)")
    rng = np.random.default_rng(5)
    for _ in range(200):
        negatives._script_letter(rng, available)
    allowed = {(c, f.name) for s, files in available for c in s.alphabet for f in files}
    assert drawn and set(drawn) <= allowed
    assert all(unicodedata.category(t).startswith("L") for t, _ in drawn)  # no unassigned code point is drawn
    forbidden = set().union(*(s.letters for s in scripts.HELD_OUT if s is not scripts.ARABIC_NASKH))
    assert not {t for t, _ in drawn} & forbidden
    assert not any(f.startswith("NotoNaskhArabic") for _, f in drawn)
    assert len({t for t, _ in drawn}) > 50  # many letters of several scripts, not one


def test_make_negatives_has_the_kind_and_draws_it_like_the_others(digits, drawn):
    if not scripts.available(scripts.TRAINED):
        pytest.skip("no Noto script font installed (fonts-noto-core; make fonts)")
    made = negatives.make_negatives(digits, seed=2, per_kind=10, other_scripts=True)
    assert 0 < made.kinds["other_scripts"] <= 10
    assert list(made.kinds)[-1] == "other_scripts"  # last: every other kind's pictures are as before it
    script_letters = set().union(*(s.alphabet for s in scripts.TRAINED))
    assert any(t in script_letters for t, _ in drawn)


def test_a_missing_font_skips_its_script_and_no_font_skips_the_kind(monkeypatch, digits, drawn):
    real = scripts.find_fonts
    monkeypatch.setattr(scripts, "find_fonts", lambda names: [] if "NotoSansArabic-*" in names else real(names))
    names = [s.name for s, _ in scripts.available(scripts.TRAINED)]
    assert "arabic" not in names
    if names:
        rng = np.random.default_rng(1)
        for _ in range(100):
            negatives._script_letter(rng, scripts.available(scripts.TRAINED))
        arabic = set(scripts.TRAINED[0].letters)
        assert not {t for t, _ in drawn} & arabic

    monkeypatch.setattr(scripts, "find_fonts", lambda names: [])
    assert scripts.available(scripts.TRAINED) == []
    made = negatives.make_negatives(digits, seed=2, per_kind=4, other_scripts=True)
    assert "other_scripts" not in made.kinds and made.kinds  # the other kinds are still made


def test_the_shipped_recipe_leaves_other_scripts_out(digits):
    """`make shipped-model` (the best recipe) reproduces the shipped models: no letters of other scripts."""
    from mnist_edge.training.recipes import RECIPES

    assert not RECIPES["best"].other_scripts and RECIPES["best-scripts"].other_scripts
    assert "other_scripts" not in negatives.make_negatives(digits, seed=2, per_kind=4).kinds
