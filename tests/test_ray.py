"""Ray Data: the example on a single-node Ray with 2 CPUs, bit for bit what one process predicts.

Needs the ray extra: ``make test-ray`` installs it in .venv-ray and runs ``pytest -m ray``;
``make test`` deselects this tier. Ray runs in a child process in its own session, killed with everything it started if it
takes longer than TIMEOUT, so a starved actor pool fails the test instead of hanging it.
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

pytestmark = pytest.mark.ray  # `make test` deselects this tier; `make test-ray` runs it with the extra

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 600


@pytest.fixture(scope="module")
def pictures(tmp_path_factory, sample_dir) -> Path:
    root = tmp_path_factory.mktemp("ray-pictures")
    mnist = load_path(sample_dir)
    for i, digit in enumerate(mnist.x_train[:250]):
        Image.fromarray(digit).save(root / f"d{i:03d}.png")
    for i, digit in enumerate(mnist.x_test[:30]):
        photo_of_digit(digit, size=240, offset=(i - 15, 10)).save(root / f"p{i:02d}.jpg")
    (root / "garbage.png").write_bytes(b"not a picture")
    Image.new("L", (40, 40), 0).save(root / "blank.png")
    return root


def run_example(*args: str) -> subprocess.CompletedProcess:
    return run_example_bounded("ray_predict.py", *args, timeout=TIMEOUT)


@pytest.mark.parametrize("read", ["ray-reads-bytes", "actors-read-paths"])
def test_ray_example_matches_one_process_bit_for_bit(pictures, tmp_path, read):
    out = tmp_path / "results.parquet"
    extra = ["--read-in-actors"] if read == "actors-read-paths" else []
    # --model ships the file's bytes to the actors; 2 actors of 0.5 CPU leave Ray's read tasks a CPU
    args = [str(pictures), "--out", str(out), "--num-cpus", "2", "--actors", "2", "--batch-size", "64"]
    result = run_example(*args, "--model", str(shipped_model_path()), *extra)
    assert result.returncode == 0, result.stderr[-3000:]
    pq = pytest.importorskip("pyarrow.parquet")  # only when run outside make test-ray without the extra
    table = pq.read_table(out).sort_by("path")
    paths = sorted(str(p) for p in pictures.iterdir())
    assert table.column("path").to_pylist() == paths

    expected = dict(predict_files(Predictor(shipped_model_path()), paths))
    rows = table.to_pylist()
    for path, row in zip(paths, rows, strict=True):
        assert_same_as_one_process(path, expected[path], row)
    errors = [row["error"] for row in rows]
    assert sum(e is not None for e in errors) == 1  # the broken file (a blank picture is an answer: no digit)
