"""Whatever a camera, a user or a disk hands over: a prediction or a one-line error, never a traceback."""

from __future__ import annotations

import json
import os
import random
import signal
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from conftest import MNIST_EDGE, copy_model_dir, encoded, run_cli
from mnist_edge.faults import ENV_VAR as FAULT_ENV
from mnist_edge.photo_like import photo_of_digit
from mnist_edge.runtime import ImageError, Predictor, decode, preprocess
from mnist_edge.runtime.preprocess import MAX_PIXELS


def png_bomb(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares a huge image (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )


BLANK = {"one_pixel.png", "all_white.png", "all_black.png"}  # no digit: predict answers, preprocess raises


@pytest.fixture(scope="module")
def zoo(tmp_path_factory, sample_dir) -> tuple[Path, dict[str, int | None]]:
    """Odd and broken inputs; the value is the expected digit, or None where an error is the right answer."""
    from mnist_edge.training.data import load_path

    digits = load_path(sample_dir)
    seven, two = digits.x_test[0], digits.x_test[1]  # labels 7 and 2
    photo = photo_of_digit(seven, size=160)
    folder = tmp_path_factory.mktemp("zoo")
    expect: dict[str, int | None] = {}

    def put(name: str, data: bytes, label: int | None):
        (folder / name).write_bytes(data)
        expect[name] = label

    put("zero_bytes.png", b"", None)
    png = encoded(photo, "PNG")
    put("truncated.png", png[: len(png) // 2], None)
    jpeg = encoded(photo, "JPEG", quality=90)
    put("truncated.jpg", jpeg[: len(jpeg) // 2], None)
    put("text.png", b"this is a text file\n", None)
    put("bomb.png", png_bomb(60000, 60000), None)
    put("one_pixel.png", encoded(Image.new("L", (1, 1), 0), "PNG"), None)
    put("all_white.png", encoded(Image.new("L", (64, 64), 255), "PNG"), None)
    put("all_black.png", encoded(Image.new("L", (64, 64), 0), "PNG"), None)
    put("sixteen_bit.png", encoded(Image.fromarray(np.asarray(photo.convert("L"), np.uint16) * 257), "PNG"), 7)
    palette = photo.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    paper_index = palette.getpixel((0, 0))
    put("palette_transparent.png", encoded(palette, "PNG", transparency=paper_index), 7)
    put("cmyk.jpg", encoded(photo.convert("CMYK"), "JPEG", quality=95), 7)
    frames = [photo, photo_of_digit(two, size=160)]
    put("animated.gif", encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100), 7)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: stored rotated, the viewer turns it 90° clockwise
    put("exif_rotated.jpg", encoded(photo.rotate(90, expand=True), "JPEG", quality=95, exif=exif), 7)
    put("good_photo.png", png, 7)
    (folder / "a_directory.png").mkdir()
    expect["a_directory.png"] = None
    expect["missing.png"] = None
    return folder, expect


def test_every_odd_input_gets_a_prediction_or_a_one_line_error(zoo, exported):
    folder, expect = zoo
    names = sorted(expect)
    result = run_cli("predict", "--json", "--model", exported["dir"] / "model.onnx", *[folder / n for n in names])
    assert result.returncode == 1  # some inputs are meant to fail
    assert "Traceback" not in result.stderr
    records = {Path(r["path"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    assert sorted(records) == names
    for name, label in expect.items():
        record = records[name]
        if name in BLANK:  # decoded fine, nothing in it: an answer (issue 13), not an error
            assert record["digits"] == "" and record["label"] is None and "blank" in record["reason"], (name, record)
        elif label is None:
            assert "error" in record and record["error"] and "\n" not in record["error"], name
        else:
            assert record.get("label") == label, (name, record)


def test_error_messages_say_why(zoo):
    folder, _ = zoo
    reasons = {
        "zero_bytes.png": "empty file",
        "truncated.png": "not a readable image",
        "text.png": "not a readable image",
        "bomb.png": f"over the {MAX_PIXELS}-pixel limit",
        "one_pixel.png": "blank",
        "all_white.png": "blank",
        "all_black.png": "blank",
        "a_directory.png": "is a directory",
        "missing.png": "No such file",
    }
    for name, reason in reasons.items():
        with pytest.raises(ImageError, match=reason) as err:
            preprocess(folder / name)
        assert str(err.value).startswith(f"{folder / name}: ") and "\n" not in str(err.value)


def test_exif_orientation_is_applied(zoo):
    folder, _ = zoo
    upright = preprocess(folder / "good_photo.png")
    turned = preprocess(folder / "exif_rotated.jpg")
    assert np.corrcoef(upright, turned)[0, 1] > 0.9


def test_unreadable_file_is_reported(tmp_path, monkeypatch):
    path = tmp_path / "locked.png"
    path.write_bytes(b"x")

    def denied(path, flags):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(decode, "_nonblocking", denied)  # root can read anything, so simulate chmod 000
    with pytest.raises(ImageError, match="Permission denied"):
        preprocess(path)


MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "I;16", "I", "F", "CMYK"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    width=st.integers(1, 300),
    height=st.integers(1, 300),
    mode=st.sampled_from(MODES),
    seed=st.integers(0, 2**32 - 1),
    style=st.sampled_from(["noise", "flat", "blob", "stripes"]),
)
def test_preprocess_any_image_gives_valid_input_or_image_error(width, height, mode, seed, style):
    rng = np.random.default_rng(seed)
    if style == "noise":
        pixels = rng.integers(0, 256, (height, width), dtype=np.uint8)
    elif style == "flat":
        pixels = np.full((height, width), rng.integers(0, 256), np.uint8)
    elif style == "stripes":
        pixels = ((np.indices((height, width)).sum(axis=0) // 3) % 2 * 255).astype(np.uint8)
    else:
        pixels = np.full((height, width), 230, np.uint8)
        y, x = rng.integers(0, height), rng.integers(0, width)
        pixels[max(0, y - 5) : y + 5, max(0, x - 3) : x + 3] = 20
    img = (
        Image.fromarray(pixels).convert(mode)
        if mode not in ("I;16",)
        else Image.fromarray(pixels.astype(np.uint16) * 257)
    )
    try:
        out = preprocess(img)
    except ImageError as e:
        assert str(e) and "\n" not in str(e)
        return
    assert out.shape == (784,) and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=0, max_size=2000))
def test_random_bytes_never_crash(data):
    try:
        preprocess(data)
    except ImageError:
        pass


def test_mutated_image_files_never_crash(sample_dir):
    """A bounded fuzz run: bit flips, truncations and splices of real PNG/JPEG/GIF/BMP/TIFF/WebP files."""
    from mnist_edge.training.data import load_path

    photo = photo_of_digit(load_path(sample_dir).x_test[2], size=64)
    seeds = [encoded(photo, fmt) for fmt in ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")]
    rng = random.Random(1234)
    outcomes = {"predicted": 0, "error": 0}
    for _ in range(600):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 8)):
            op = rng.random()
            if op < 0.6 and data:
                i = rng.randrange(len(data))
                data[i] ^= 1 << rng.randrange(8)
            elif op < 0.8 and len(data) > 8:
                del data[rng.randrange(8, len(data)) :]
            else:
                other = rng.choice(seeds)
                i = rng.randrange(len(other))
                data[i:i] = other[i : i + rng.randint(1, 64)]
        try:
            preprocess(bytes(data))
            outcomes["predicted"] += 1
        except ImageError:
            outcomes["error"] += 1
    assert outcomes["predicted"] > 0 and outcomes["error"] > 0  # the fuzzer reached both paths


def crash_at(point: str, command: list[str], mnist_dir) -> subprocess.Popen:
    """Start the real CLI set to SIGKILL itself at the named fault-injection point."""
    env = {**os.environ, "MNIST_EDGE_DATA": str(mnist_dir), FAULT_ENV: point}
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_killed(process: subprocess.Popen) -> None:
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == -signal.SIGKILL, stderr[-2000:]


@pytest.mark.slow
def test_sigkill_during_export_leaves_complete_models(exported, tmp_path, mnist_dir):
    """Kill `mnist-edge export` at every step of publishing: the pair is the old one or the new one, never mixed."""
    points = (
        "export:before-publish",
        "publish:adopting",
        "publish:adopted",
        "publish:version-written",
        "publish:linked",
        "publish:switched",
        "export:after-publish",
    )
    names = ("model.onnx", "model.int8.onnx")
    before = {name: (exported["dir"] / name).read_bytes() for name in names}
    runs = {}
    for point in points:
        folder = copy_model_dir(exported["dir"], tmp_path / point.replace(":", "_"))  # loose files, as 0.1 wrote them
        command = [*MNIST_EDGE, "export", "--model", str(folder / "model.keras"), "--quantize", "--test-images", "500"]
        runs[point] = folder, crash_at(point, command, mnist_dir)
    outcomes = {}
    for point, (folder, process) in runs.items():
        wait_killed(process)
        same = {name: (folder / name).read_bytes() == before[name] for name in names}
        assert len(set(same.values())) == 1, (point, same)  # both old or both new
        outcomes[point] = "old" if same["model.onnx"] else "new"
        cards = [Predictor(folder / name, verify=True).card for name in names]  # whole, sealed, loadable
        assert cards[0]["test_images"] == cards[1]["test_images"]  # and from the same export
        assert len({c["source"]["keras_model_sha256"] for c in cards}) == 1
        leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".") and p.name != ".versions"]
        assert all(".tmp" in name for name in leftovers), point  # hidden temporaries only, never a final name
    assert outcomes["export:before-publish"] == "old" and outcomes["export:after-publish"] == "new"
    assert outcomes["publish:switched"] == "new" and outcomes["publish:linked"] == "old"


@pytest.mark.slow
def test_sigkill_during_training_keeps_the_previous_model(tmp_path, mnist_dir):
    """Kill `mnist-edge train` exactly before the model is saved, and between the model and metrics.json."""
    from mnist_edge.provenance import sha256_file
    from mnist_edge.training import make_config, train
    from mnist_edge.training.keras_env import import_keras

    keras = import_keras()
    out = tmp_path / "train"
    base = [*MNIST_EDGE, "train", "--recipe", "seed", "--hidden", "16", "--train-images", "500", "--epochs", "1"]
    train(make_config("seed", hidden=(16,), train_images=500, epochs=1), out, mnist_dir, verbose=0)  # the previous run
    previous = {name: (out / name).read_bytes() for name in ("model.keras", "metrics.json")}
    runs = {}
    for point in ("train:before-save", "train:after-model-save"):
        folder = tmp_path / point.replace(":", "_")
        folder.mkdir()
        for name, data in previous.items():
            (folder / name).write_bytes(data)
        runs[point] = folder, crash_at(point, [*base, "--seed", "1", "--out", str(folder)], mnist_dir)
    for point, (folder, process) in runs.items():
        wait_killed(process)
        model, metrics = (folder / "model.keras").read_bytes(), (folder / "metrics.json").read_bytes()
        assert metrics == previous["metrics.json"]  # metrics.json is written last: still the previous run's
        if point == "train:before-save":
            assert model == previous["model.keras"]  # the previous model is kept
        else:  # the new model is whole under its final name; metrics.json does not describe it yet
            assert model != previous["model.keras"]
            assert json.loads(metrics)["model_sha256"] != sha256_file(folder / "model.keras")
        keras.models.load_model(folder / "model.keras")
        assert all(".tmp" in p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize(
    "source",
    [
        None,
        42,
        np.zeros((3, 3, 3, 3)),
        np.array([["a", "b"], ["c", "d"]]),
        np.full((28, 28), np.nan),
        np.zeros((0, 28)),
        Image.new("HSV", (40, 40)),
        Image.new("LAB", (40, 40)),
    ],
)
def test_odd_python_objects_give_image_errors(source):
    with pytest.raises(ImageError):
        preprocess(source)


def test_predict_batch_of_nothing_is_empty(exported):
    assert Predictor(exported["dir"] / "model.onnx").predict_batch([]) == []
