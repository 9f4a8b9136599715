"""Shared fixtures. The full MNIST files come from $MNIST_EDGE_DATA (``make test`` and .ci/run set it)."""

from __future__ import annotations

import importlib.util
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SAMPLE_DIR = Path(__file__).parent / "data" / "mnist-sample"
HEAVY = ("tensorflow", "keras", "tf2onnx", "onnx")
# Python source that makes importing any HEAVY package raise: put it first in a child interpreter's script
BLOCK_HEAVY_IMPORTS = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {HEAVY!r}:
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
"""
MNIST_EDGE = [sys.executable, "-m", "mnist_edge"]

# Test tiers (markers registered in pyproject.toml):
#   runtime - no TensorFlow, tf2onnx or onnx: what `make test-runtime` runs in an install without them
#   export  - needs TensorFlow/onnx but trains nothing (tiny models built in the test)
#   slow    - trains a model (directly, or through the `trained`/`exported` fixtures)
#   ray     - needs the ray extra; starts a single-node Ray (`make test-ray` runs these)
#   serve   - needs the serve extra (and httpx2, from dev); starts the HTTP server
#   spark   - needs the spark extra and Java; runs Spark in local mode (`make test-spark` runs these)
#   browser - drives headless Chromium with Playwright (`make test-browser` runs these; tests/browser/)
# A test's own marker wins; else a test using a training fixture is slow; else its module's tier.
TIERS = ("runtime", "export", "slow", "ray", "serve", "spark", "browser")
TRAINING_FIXTURES = {"trained", "exported", "service"}
MODULE_TIER = {
    "test_augment": "export",
    "test_fusion": "export",
    "test_model_checks": "export",
    "test_model_contract": "export",
    "test_pipeline": "export",
    "test_portable": "export",
    "test_ray": "ray",
    "test_serve": "serve",
    "test_spark": "spark",
}  # every other module: runtime
HEAVY_MODULES = [
    "test_augment.py",
    "test_fusion.py",
    "test_model_checks.py",
    "test_model_contract.py",
    "test_pipeline.py",
    "test_portable.py",
]
collect_ignore = []
if importlib.util.find_spec("onnx") is None:  # a runtime-only install: these cannot even be imported
    collect_ignore += HEAVY_MODULES
if not all(importlib.util.find_spec(m) for m in ("starlette", "uvicorn", "httpx2", "prometheus_client")):
    collect_ignore.append("test_serve.py")  # no serve extra: nothing to test (make test installs it)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if any(item.get_closest_marker(tier) for tier in TIERS):
            continue
        if TRAINING_FIXTURES & set(item.fixturenames):
            tier = "slow"
        else:
            tier = MODULE_TIER.get(item.module.__name__.rsplit(".", 1)[-1], "runtime")
        item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """300 training and 100 test images of real MNIST, shipped with the tests."""
    return SAMPLE_DIR


@pytest.fixture(scope="session")
def sample(sample_dir):
    """The small real MNIST sample (tests/data/mnist-sample), loaded."""
    from mnist_edge.training.data import load_path

    return load_path(sample_dir)


@pytest.fixture(scope="session")
def predictor():
    """The shipped int8 model, loaded once (a Predictor is safe to share)."""
    from mnist_edge.runtime import Predictor

    return Predictor()


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The full MNIST files; the pipeline tests need them and fail loudly without them."""
    value = os.environ.get("MNIST_EDGE_DATA")
    if not value or not Path(value).exists():
        pytest.fail("set MNIST_EDGE_DATA to the MNIST data (make test does this from ../shared/data/mnist)")
    return Path(value)


@pytest.fixture(scope="session")
def mnist(mnist_dir):
    from mnist_edge.training.data import load_mnist

    return load_mnist(mnist_dir)


@pytest.fixture(scope="session")
def trained(tmp_path_factory, mnist_dir) -> dict:
    """Train on 4000 real images for 2 epochs, once per test session."""
    from mnist_edge.training import TrainConfig, train

    out = tmp_path_factory.mktemp("artifacts")
    metrics = train(TrainConfig(epochs=2, seed=1, train_images=4000), out, mnist_dir, verbose=0)
    return {"dir": out, "metrics": metrics}


@pytest.fixture(scope="session")
def exported(trained, mnist_dir) -> dict:
    """The trained model exported to fp32, statically quantized int8 and portable int8 ONNX."""
    from mnist_edge.export import ExportConfig, export

    config = ExportConfig(quantize="static", calibration_images=500, measure_speed=False, portable=True)
    result = export(trained["dir"] / "model.keras", trained["dir"], config, mnist_dir)
    return {"dir": trained["dir"], **result}


@pytest.fixture(scope="session")
def digit_pngs(tmp_path_factory, mnist) -> list[tuple[Path, int]]:
    """300 MNIST test digits (a spread from the whole test set) written as PNG files."""
    folder = tmp_path_factory.mktemp("pngs")
    out = []
    for i in range(0, 10000, 33)[:300]:
        path = folder / f"test_{i:05d}.png"
        Image.fromarray(mnist.x_test[i]).save(path)
        out.append((path, int(mnist.y_test[i])))
    return out


def encoded(img: Image.Image | np.ndarray, fmt: str = "PNG", **options) -> bytes:
    """A picture (or a uint8 array) saved in ``fmt``, as bytes."""
    picture = img if isinstance(img, Image.Image) else Image.fromarray(img)
    buffer = io.BytesIO()
    picture.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def run_cli(*args, env=None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([*MNIST_EDGE, *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


def copy_model_dir(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("model.keras", "model.onnx", "model.int8.onnx"):
        if (src / name).exists():
            shutil.copy2(src / name, dst / name)
    return dst


def assert_same_as_one_process(path: str, outcome, row: dict) -> None:
    """An engine's row for ``path`` (Ray, Spark, ``scale.predict_pictures``: label, confidence,
    probabilities, box, digits, reason, error) says what one process said (``outcome``: a Prediction
    or the error), bit for bit. The error's wording may differ: the engines may read bytes, not files."""
    if isinstance(outcome, Exception):
        assert row["label"] == -1 and row["error"] and row["box"] is None, path
        return
    assert row["error"] is None and row["digits"] == outcome.digits and row["reason"] == outcome.reason, path
    assert row["label"] == (-1 if outcome.label is None else outcome.label), path
    if outcome.label is not None:
        assert tuple(float(x) for x in row["probabilities"]) == outcome.probabilities, path
    if outcome.confidence is not None:
        assert row["confidence"] == np.float32(outcome.confidence), path
    assert (tuple(row["box"]) if row["box"] is not None else None) == outcome.box, path


def run_example_bounded(script: str, *args: str, timeout: float) -> subprocess.CompletedProcess:
    """``examples/<script> args`` in its own process group, killed with its children (Ray, Spark) after
    ``timeout`` seconds: the test fails instead of hanging."""
    import signal

    root = Path(__file__).resolve().parents[1]
    command = [sys.executable, str(root / "examples" / script), *args]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    )
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"{script} hung for {timeout} s:\n{err[-3000:]}")
    return subprocess.CompletedProcess(command, process.returncode, out, err)
