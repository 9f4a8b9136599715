"""The picture benchmark's generator (benchmarks/picture_sets.py): deterministic, labelled, boxes right."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
SPEC = importlib.util.spec_from_file_location("picture_sets", ROOT / "benchmarks" / "picture_sets.py")
picture_sets = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(picture_sets)

from mnist_edge.fonts import HELD_OUT_FONTS, TRAINING_FONTS, held_out_fonts, training_fonts

PER_SET = 2

# numpy + Pillow + the MNIST loader: no TensorFlow, so it runs in the runtime tier too
pytestmark = pytest.mark.runtime


def _sets() -> tuple[str, ...]:
    # printed digits need the held-out fonts (apt packages in mnist_edge/fonts.py); skip that set without them
    return picture_sets.CONDITIONS if held_out_fonts() else tuple(c for c in picture_sets.CONDITIONS if c != "printed")


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def generated(tmp_path_factory, sample_dir):
    a = tmp_path_factory.mktemp("sets-a")
    b = tmp_path_factory.mktemp("sets-b")
    picture_sets.generate(a, PER_SET, 7, _sets(), sample_dir, verbose=False)
    picture_sets.generate(b, PER_SET, 7, _sets(), sample_dir, verbose=False)
    return a, b


def test_same_seed_same_bytes(generated):
    a, b = generated
    da, db = _digests(a), _digests(b)
    assert da == db
    assert len(da) == PER_SET * len(_sets()) + 2  # + labels.json, meta.json


def test_labels_and_meta_agree_with_the_files(generated, sample_dir):
    folder, _ = generated
    labels = json.loads((folder / "labels.json").read_text())
    meta = json.loads((folder / "meta.json").read_text())
    assert set(labels) == set(meta)
    assert sorted(labels) == sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.parent != folder)
    _, y_test = picture_sets.load_test_set(sample_dir)
    for rel, label in labels.items():
        m = meta[rel]
        assert rel.split("/")[0] == m["condition"] and m["label"] == label and 0 <= label <= 9
        with Image.open(folder / rel) as raw:
            im = ImageOps.exif_transpose(raw)
            assert [im.width, im.height] == m["size"]
            gray = np.asarray(im.convert("L"), np.float32)
        x0, y0, x1, y1 = m["box"]
        assert 0 <= x0 < x1 <= im.width and 0 <= y0 < y1 <= im.height, rel
        idx = m["source"].get("mnist_test_index")
        if idx is not None:
            assert int(y_test[idx]) == label
        else:
            assert m["condition"] == "printed" and m["source"]["font"]
        # the box holds the ink: it differs from the picture's typical (paper) level far more than the rest
        inside = gray[y0:y1, x0:x1]
        paper = np.median(gray)
        assert np.abs(inside - paper).max() > 60, rel


def test_sizes_within_the_described_ranges(generated):
    folder, _ = generated
    meta = json.loads((folder / "meta.json").read_text())
    for rel, m in meta.items():
        w, h = m["size"]
        x0, y0, x1, y1 = m["box"]
        short, digit_h = min(w, h), y1 - y0
        cond = m["condition"]
        if cond == "photo":
            assert 480 <= short and max(w, h) <= 4032 and rel.endswith(".jpg")
            assert 0.03 * short <= max(digit_h, x1 - x0) <= 0.45 * short, rel
        elif cond == "page":
            assert short >= 2480
            assert 0.02 * short <= digit_h <= 0.1 * short, rel
        elif cond == "lowres":
            assert 12 <= h <= 41
        elif cond == "mnist_png":
            assert (w, h) == (28, 28) and rel.endswith(".png")


def test_font_split_is_disjoint():
    assert not set(HELD_OUT_FONTS) & set(TRAINING_FONTS)
    held = {p.name for p in held_out_fonts()}
    assert not held & {p.name for p in training_fonts()}
    if held:  # fonts installed: the common bold sans the issue names is held out
        assert "LiberationSans-Bold.ttf" in held
