"""Issue 14: no hangs, bounded memory and one-line errors for hostile data, model files and options."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mnist_edge.errors import DataError, ModelError
from mnist_edge.runtime import Predictor
from mnist_edge.runtime.predictor import shipped_model_path

pytestmark = pytest.mark.runtime

ROOT = Path(__file__).parent.parent
DIGIT = ROOT / "examples" / "digits" / "mnist_test_00000_label_7.png"
SAMPLE = Path(__file__).parent / "data" / "mnist-sample"


def _run(code: str, timeout: float = 20, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter; a hang fails the test instead of the suite."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT
    )


def _cli(*args, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mnist_edge", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


# --- item 4: FIFOs, devices and directories as --data files and --model files -------------------


def _data_dir_with(tmp_path: Path, replace: str, make) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(SAMPLE, folder)
    (folder / replace).unlink()
    make(folder / replace)
    return folder


@pytest.mark.parametrize(
    "make",
    [os.mkfifo, lambda p: p.symlink_to("/dev/zero"), lambda p: p.mkdir()],
    ids=["fifo", "dev-zero", "directory"],
)
def test_data_file_that_is_not_a_regular_file_is_refused_quickly(tmp_path, make):
    folder = _data_dir_with(tmp_path, "train-images-idx3-ubyte.gz", make)
    start = time.monotonic()
    r = _run(f"from mnist_edge.training.data import load_mnist; load_mnist({str(folder)!r})", timeout=15)
    assert time.monotonic() - start < 15
    assert "DataError" in r.stderr and r.returncode == 1


@pytest.mark.parametrize("target", ["fifo", "/dev/zero"])
def test_npz_data_path_that_is_not_a_regular_file_is_refused(tmp_path, target):
    path = tmp_path / "mnist.npz"
    if target == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(target)
    from mnist_edge.training.data import load_mnist

    with pytest.raises(DataError, match="not a regular file"):
        load_mnist(path)


@pytest.mark.parametrize("target", ["fifo", "/dev/zero", "directory"])
@pytest.mark.parametrize("verify", [False, True])
def test_model_that_is_not_a_regular_file_is_refused_quickly(tmp_path, target, verify):
    path = tmp_path / "model.onnx"
    if target == "fifo":
        os.mkfifo(path)
    elif target == "directory":
        path.mkdir()
    else:
        path.symlink_to(target)
    r = _cli("predict", "--model", path, *(["--verify"] if verify else []), DIGIT, timeout=30)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "regular file" in r.stderr or "directory" in r.stderr


def test_model_over_the_size_cap_is_refused_before_reading(tmp_path, monkeypatch):
    from mnist_edge.runtime import predictor

    monkeypatch.setattr(predictor, "MAX_MODEL_BYTES", 1000)
    with pytest.raises(ModelError, match="limit"):
        Predictor(shipped_model_path())


# --- item 7: a gzip bomb as training data --------------------------------------------------------


def _idx_header(count: int) -> bytes:
    return (0x803).to_bytes(4, "big") + count.to_bytes(4, "big") + (28).to_bytes(4, "big") + (28).to_bytes(4, "big")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak RSS read from /proc (Linux)")
def test_gzip_bomb_training_images_stop_at_the_declared_size(tmp_path):
    """A 0.9 MB .gz that inflates to 200 MB: a valid header for 60,000 images, then far more zeros."""
    folder = _data_dir_with(tmp_path, "train-images-idx3-ubyte.gz", lambda p: None)
    with gzip.open(folder / "train-images-idx3-ubyte.gz", "wb", compresslevel=1) as f:  # level 1: quick to make
        f.write(_idx_header(60_000))
        zeros = bytes(1 << 20)
        for _ in range(200):
            f.write(zeros)
    code = (
        "import sys\n"
        "from mnist_edge.training.data import load_mnist\n"
        "from mnist_edge.errors import DataError\n"
        f"try:\n    load_mnist({str(folder)!r})\nexcept DataError as e:\n    print(e)\n"
        "print(next(int(line.split()[1]) // 1024 for line in open('/proc/self/status') if line.startswith('VmHWM')))\n"
    )
    start = time.monotonic()
    r = _run(code, timeout=30)
    message, peak_mib = r.stdout.strip().splitlines()
    assert "unexpected bytes after" in message or "more data" in message, message
    assert time.monotonic() - start < 10
    assert int(peak_mib) < 200  # the declared 47 MB (twice at most) and the interpreter, not 200 MB of zeros


def test_idx_header_declaring_more_than_mnist_is_refused_before_inflating(tmp_path):
    folder = _data_dir_with(tmp_path, "train-images-idx3-ubyte.gz", lambda p: None)
    with gzip.open(folder / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(_idx_header(2_000_000_000))
    from mnist_edge.training.data import load_mnist

    with pytest.raises(DataError, match="60000"):
        load_mnist(folder)


# --- item 6: --threads ------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-1", "100000", "99999999999999999999", "x"])
def test_threads_out_of_range_is_a_usage_error(value):
    r = _cli("predict", "--threads", value, DIGIT, timeout=30)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr


def test_threads_in_range_works():
    r = _cli("predict", "--threads", "2", DIGIT)
    assert r.returncode == 0 and ": 7 (" in r.stdout


def test_predictor_refuses_absurd_threads():
    with pytest.raises(ValueError, match="threads"):
        Predictor(threads=10**6)


# --- item 14: read-only home -------------------------------------------------------------------


def test_predict_works_with_an_unwritable_home(tmp_path):
    """HOME under a regular file: nothing can be created there, even by root; no XDG cache either."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env["HOME"] = str(blocker / "home")
    r = _cli("predict", DIGIT, env=env)
    assert r.returncode == 0 and ": 7 (" in r.stdout and r.stderr == "", r.stderr


def test_predict_works_with_a_read_only_home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o555)
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env["HOME"] = str(home)
    try:
        r = _cli("predict", DIGIT, env=env)
    finally:
        home.chmod(0o755)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert list(home.iterdir()) == []


# --- item 12: library warnings stay off stderr unless --verbose ----------------------------------


def _tiff_with_corrupt_tag(path: Path) -> None:
    """A loadable TIFF digit whose ImageDescription tag claims 100,000 bytes: Pillow warns and skips it."""
    import io
    import struct

    import numpy as np
    from PIL import Image

    pixels = np.full((28, 28), 255, np.uint8)
    pixels[6:22, 12:16] = 0
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "TIFF", tiffinfo={270: "a digit"})
    data = bytearray(buf.getvalue())
    ifd = struct.unpack_from("<I", data, 4)[0]
    for i in range(struct.unpack_from("<H", data, ifd)[0]):
        entry = ifd + 2 + 12 * i
        if struct.unpack_from("<H", data, entry)[0] == 270:
            struct.pack_into("<I", data, entry + 4, 100_000)
    path.write_bytes(bytes(data))


def test_library_warnings_do_not_reach_stderr(tmp_path):
    import warnings

    from PIL import Image

    image = tmp_path / "warns.tif"
    _tiff_with_corrupt_tag(image)
    with warnings.catch_warnings(record=True) as caught:  # the file really makes Pillow warn
        warnings.simplefilter("always")
        Image.open(image).load()
    assert any("Skipping tag" in str(w.message) for w in caught)
    missing = tmp_path / "missing.png"
    r = _cli("predict", image, missing)
    assert r.returncode == 1 and "Warning" not in r.stderr and r.stderr == "", r.stderr
    assert f"{image}: " in r.stdout and f"{missing}: error:" in r.stdout
    r = _cli("predict", "--verbose", image)  # --verbose lets library warnings through (if any reach us)
    assert r.returncode == 0 and "Traceback" not in r.stderr
