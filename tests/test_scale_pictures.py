"""The per-batch prediction columns that Ray Data and Spark both write (scale/pictures.py), without either engine."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import assert_same_as_one_process
from mnist_edge.photo_like import photo_of_digit
from mnist_edge.runtime import Predictor, predict_files, shipped_model_path
from mnist_edge.scale.pictures import load_predictor, predict_pictures, read_source
from mnist_edge.training.data import load_path


@pytest.fixture(scope="module")
def files(tmp_path_factory, sample_dir) -> list[str]:
    root = tmp_path_factory.mktemp("scale-pictures")
    mnist = load_path(sample_dir)
    for i, digit in enumerate(mnist.x_test[:12]):
        Image.fromarray(digit).save(root / f"d{i:02d}.png")
    for i, digit in enumerate(mnist.x_test[:3]):
        photo_of_digit(digit, size=240, offset=(i, -i)).save(root / f"p{i}.jpg")
    (root / "garbage.png").write_bytes(b"not a picture")
    return sorted(str(p) for p in root.iterdir())


def test_paths_bytes_and_uris_give_one_process_predictions_bit_for_bit(files):
    predictor = Predictor()
    expected = dict(predict_files(predictor, files))
    as_bytes = [open(p, "rb").read() for p in files]  # noqa: SIM115 - tiny files, closed by the GC
    for pictures in (files, as_bytes, [memoryview(b) for b in as_bytes], ["file:" + p for p in files]):
        batch = predict_pictures(predictor, pictures)
        for i, path in enumerate(files):
            row = {name: getattr(batch, name)[i] for name in ("label", "confidence", "probabilities", "digits")}
            row.update(reason=batch.reason[i], error=batch.error[i])
            row["box"] = tuple(batch.box[i].tolist()) if batch.has_box[i] else None
            assert_same_as_one_process(path, expected[path], row)
            if isinstance(expected[path], Exception):
                assert np.isnan(batch.probabilities[i]).all() and np.isnan(batch.confidence[i])
        assert sum(e is not None for e in batch.error) == 1


def test_a_missing_or_null_picture_is_a_row_error_not_a_failed_batch(files):
    batch = predict_pictures(Predictor(), [files[0], None, files[0] + ".missing", b""])
    assert batch.label.tolist()[1:] == [-1, -1, -1] and batch.label[0] >= 0
    assert batch.error[1] == "no picture (null)"
    assert "No such file" in batch.error[2] and batch.error[3]


def test_model_bytes_load_and_leave_no_temporary_file(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # mkstemp writes here
    made = []
    monkeypatch.setattr(os, "unlink", lambda name, unlink=os.unlink: (made.append(name), unlink(name)))
    predictor = load_predictor(shipped_model_path().read_bytes())
    assert made and Path(made[0]).parent == tmp_path and list(tmp_path.iterdir()) == []
    assert predictor.probabilities(np.zeros((2, 784), np.float32)).shape == (2, 10)


def test_read_source_opens_local_paths_and_file_uris(files):
    data = open(files[0], "rb").read()  # noqa: SIM115
    for uri in (files[0], "file:" + files[0], "file://" + files[0], "file://localhost" + files[0]):
        assert read_source(uri) == data, uri
    odd = Path(files[0]).with_name("a b#1?.png")
    odd.write_bytes(data)
    assert read_source("file:" + str(odd)) == data
