"""The page's preprocessing (mnist_edge/web/static/preprocess.js) in headless Chromium equals read_digit's.

The browser decodes each picture file itself and hands the canvas's ImageData to preprocess.js, as the
page does; Python reads the same file with ``read_digit``. Both tensors go through the shipped int8 model.
The full-size check (10,000 MNIST PNGs, the picture benchmark's photos) is benchmarks/web_parity.py.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mnist_edge.photo_like import photo_of_digit
from mnist_edge.runtime import Predictor

ROOT = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("web_parity", ROOT / "benchmarks" / "web_parity.py")
web_parity = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(web_parity)

pytestmark = pytest.mark.browser

N_MNIST = 200
N_PHOTOS = 20


@pytest.fixture(scope="module")
def pictures(tmp_path_factory, mnist) -> tuple[Path, dict[str, int]]:
    """200 MNIST test digits as PNGs, 20 photo-like pictures (PNG 200–399 px, JPEG 320–1024 px, off-centre),
    4 low-resolution digits (14–60 px, both polarities) and two blank pictures."""
    folder = tmp_path_factory.mktemp("web-parity")
    labels: dict[str, int] = {}
    (folder / "mnist").mkdir()
    for i in range(0, 10000, 10000 // N_MNIST):
        name = f"mnist/{i:05d}.png"
        Image.fromarray(mnist.x_test[i]).save(folder / name)
        labels[name] = int(mnist.y_test[i])
    (folder / "photo").mkdir()
    rng = np.random.default_rng(15)
    for k in range(N_PHOTOS):
        i = int(rng.integers(10000))
        jpeg = k % 2 == 1  # PNGs small enough to be read at full size: the same gray in both, so the same tensor
        size = int(rng.choice([320, 480, 640, 1024])) if jpeg else int(rng.choice([200, 280, 320, 399]))
        offset = (int(rng.integers(-size // 6, size // 6)), int(rng.integers(-size // 6, size // 6)))
        picture = photo_of_digit(mnist.x_test[i], size=size, offset=offset, paper=int(rng.integers(180, 250)))
        name = f"photo/{k:02d}.{'jpg' if jpeg else 'png'}"
        picture.save(folder / name, quality=90) if jpeg else picture.save(folder / name)
        labels[name] = int(mnist.y_test[i])
    (folder / "lowres").mkdir()
    for k, (w, h) in enumerate([(14, 18), (24, 24), (40, 31), (60, 52)]):  # whole-picture digits (≤ 64 px)
        i = int(rng.integers(10000))
        digit = mnist.x_test[i] if k % 2 else 255 - mnist.x_test[i]
        Image.fromarray(digit).resize((w, h), Image.Resampling.BILINEAR).save(folder / f"lowres/{k}.png")
        labels[f"lowres/{k}.png"] = int(mnist.y_test[i])
    for name, size, value in (("blank/white.png", (300, 200), 255), ("blank/dark.png", (40, 30), 0)):
        (folder / "blank").mkdir(exist_ok=True)
        Image.new("L", size, value).save(folder / name)
        labels[name] = -1
    return folder, labels


@pytest.fixture(scope="module")
def readings(pictures) -> dict[str, tuple[dict, dict]]:
    """{name: (Python's reading, the browser's reading)} for every picture."""
    folder, labels = pictures
    names = list(labels)
    with web_parity.browser_page(folder) as page:
        js = web_parity.read_in_browser(page, names)
    py = web_parity.read_in_python(folder, names)
    return {n: (p, j) for n, p, j in zip(names, py, js, strict=True)}


def _labels(readings, prefix: str) -> tuple[list, list]:
    chosen = [pair for name, pair in readings.items() if name.startswith(prefix)]
    predictor = Predictor()
    return (
        web_parity.labels_of(predictor, [p for p, _ in chosen]),
        web_parity.labels_of(predictor, [j for _, j in chosen]),
    )


def test_mnist_pngs_give_python_tensors_within_1_255_and_the_same_labels(readings):
    mnist = {n: pair for n, pair in readings.items() if n.startswith("mnist/")}
    assert len(mnist) == N_MNIST
    for name, (py, js) in mnist.items():
        assert js["reason"] is None, name
        assert js["pixels"].shape == (784,) and js["pixels"].dtype == np.float32
        assert float(np.abs(py["pixels"] - js["pixels"]).max()) <= 1 / 255, name
        assert js["box"] == py["box"] == [0, 0, 28, 28]
    py_labels, js_labels = _labels(readings, "mnist/")
    assert py_labels == js_labels


def test_photo_like_pictures_give_python_labels(readings):
    py_labels, js_labels = _labels(readings, "photo/")
    agree = sum(a == b for a, b in zip(py_labels, js_labels, strict=True)) / N_PHOTOS
    assert None not in js_labels  # a digit was found in every picture
    assert agree >= 0.99


def test_small_png_pictures_give_python_tensors_and_boxes(readings):
    pngs = {n: pair for n, pair in readings.items() if n.startswith(("photo/", "lowres/")) and n.endswith(".png")}
    assert len(pngs) == N_PHOTOS // 2 + 4
    for name, (py, js) in pngs.items():
        assert float(np.abs(py["pixels"] - js["pixels"]).max()) <= 1 / 255, name
        assert js["box"] == py["box"], name


def test_no_digit_gives_pythons_reason(readings):
    for name in ("blank/white.png", "blank/dark.png"):
        py, js = readings[name]
        assert js["pixels"] is None and js["box"] is None
        assert js["reason"] == py["reason"] == "no digit found (blank image)", name
