"""Spark: the example in local mode (local[2]), bit for bit what one process predicts.

Needs the spark extra and Java 17+: ``make test-spark`` installs it in .venv-spark and runs ``pytest -m spark``;
``make test`` deselects this tier. Spark runs in a child process in its own session, killed with its JVM and
Python workers if it takes longer than TIMEOUT, so a stuck job fails the test instead of hanging it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PIL import Image

from conftest import assert_same_as_one_process, run_example_bounded
from mnist_edge.photo_like import photo_of_digit
from mnist_edge.runtime import Predictor, predict_files, shipped_model_path
from mnist_edge.training.data import load_path

pytestmark = pytest.mark.spark  # `make test` deselects this tier; `make test-spark` runs it with the extra

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 900  # a JVM and two Python workers on a shared, loaded 2-core machine: minutes, not hours


@pytest.fixture(scope="module")
def pictures(tmp_path_factory, sample_dir) -> Path:
    root = tmp_path_factory.mktemp("spark-pictures")
    mnist = load_path(sample_dir)
    for i, digit in enumerate(mnist.x_test[:100]):
        Image.fromarray(digit).save(root / f"d{i:03d}.png")
    for i, digit in enumerate(mnist.x_train[:200]):
        Image.fromarray(digit).save(root / f"t{i:03d}.png")
    for i, digit in enumerate(mnist.x_test[:20]):
        photo_of_digit(digit, size=240, offset=(i - 10, 10)).save(root / f"p{i:02d}.jpg")
    (root / "garbage.png").write_bytes(b"not a picture")
    Image.new("L", (40, 40), 0).save(root / "blank.png")
    (root / "notes.txt").write_text("not a picture file: the example skips it")
    return root


def run_example(*args: str) -> subprocess.CompletedProcess:
    return run_example_bounded("spark_predict.py", *args, timeout=TIMEOUT)


@pytest.mark.parametrize("read", ["spark-reads-bytes", "workers-read-paths"])
def test_spark_example_matches_one_process_bit_for_bit(pictures, tmp_path, read):
    out = tmp_path / "results.parquet"
    extra = ["--read-in-workers"] if read == "workers-read-paths" else ["--model", str(shipped_model_path())]
    # batches of 64 from Arrow batches of 100: every worker predicts several batches, one ragged
    result = run_example(str(pictures), "--out", str(out), "--batch-size", "64", "--records-per-batch", "100", *extra)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "wrote 322 predictions (1 pictures unusable, 1 with no digit)" in result.stdout, result.stdout
    pq = pytest.importorskip("pyarrow.parquet")  # only when run outside make test-spark without the extra
    table = pq.read_table(out).sort_by("path")
    assert table.column_names == ["path", "label", "confidence", "probabilities", "box", "digits", "reason", "error"]
    paths = [p.removeprefix("file:") for p in table.column("path").to_pylist()]  # Spark's file: URIs
    assert paths == sorted(str(p) for p in pictures.iterdir() if p.suffix != ".txt")

    expected = dict(predict_files(Predictor(shipped_model_path()), paths))
    rows = table.to_pylist()
    for path, row in zip(paths, rows, strict=True):
        assert_same_as_one_process(path, expected[path], row)
    errors = [row["error"] for row in rows]
    assert sum(e is not None for e in errors) == 1  # the broken file (a blank picture is an answer: no digit)
