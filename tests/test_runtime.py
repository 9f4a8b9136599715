"""The runtime alone: no heavy imports, MNIST-style preprocessing, clear errors."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from conftest import BLOCK_HEAVY_IMPORTS, HEAVY
from mnist_edge.photo_like import photo_of_digit
from mnist_edge.runtime import ImageError, ModelError, Predictor, preprocess


def test_runtime_and_predict_cli_import_no_heavy_module():
    """Run in a fresh interpreter where importing any heavy module raises."""
    script = BLOCK_HEAVY_IMPORTS + textwrap.dedent(
        f"""
        import mnist_edge.runtime
        import mnist_edge.runtime.batch
        from mnist_edge import cli
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r})
        assert not loaded, loaded
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_mnist_digits_pass_through_unchanged(sample):
    for digit in sample.x_test:
        out = preprocess(digit)
        np.testing.assert_allclose(out, digit.reshape(-1) / 255.0, atol=1e-6)
        assert out.dtype == np.float32


def test_png_bytes_pil_and_array_agree(sample):
    digit = sample.x_test[0]
    buffer = io.BytesIO()
    Image.fromarray(digit).save(buffer, format="PNG")
    by_bytes = preprocess(buffer.getvalue())
    by_image = preprocess(Image.fromarray(digit))
    np.testing.assert_array_equal(by_bytes, by_image)
    np.testing.assert_allclose(by_bytes, preprocess(digit), atol=1e-6)


def test_photo_like_digit_is_normalised_back_to_mnist_style(sample):
    correlations = []
    for digit in sample.x_test[:20]:
        out = preprocess(photo_of_digit(digit, size=240)).reshape(28, 28)
        ys, xs = np.nonzero(out > 0.05)
        assert max(ys.max() - ys.min(), xs.max() - xs.min()) + 1 in (20, 21)  # MNIST's 20-px box
        ys, xs = np.indices(out.shape)
        centre = ((ys * out).sum() / out.sum(), (xs * out).sum() / out.sum())
        assert np.allclose(centre, 13.5, atol=1.0)  # centred by mass
        assert out.max() == pytest.approx(1.0)
        correlations.append(np.corrcoef(out.reshape(-1), digit.reshape(-1) / 255.0)[0, 1])
    assert np.mean(correlations) > 0.6  # strokes differ in width; shape and place match


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "RGB", "RGBA", "I;16", "CMYK"])
def test_image_modes_give_the_same_digit(sample, mode, tmp_path):
    photo = photo_of_digit(sample.x_test[3], size=120)
    reference = preprocess(photo)
    if mode == "I;16":
        converted = Image.fromarray(np.asarray(photo.convert("L"), dtype=np.uint16) * 257)
    elif mode == "1":  # a bitmap scan: thresholded, not dithered
        converted = photo.convert("L").point(lambda v: 255 if v > 128 else 0).convert("1")
    else:
        converted = photo.convert(mode)
    out = preprocess(converted)
    assert np.corrcoef(out, reference)[0, 1] > (
        0.8 if mode in ("1", "P") else 0.97
    )  # bitmaps and palettes lose gray levels


def test_transparent_background_is_composited_on_white(sample):
    alpha = np.asarray(Image.fromarray(sample.x_test[5]).resize((56, 56)))
    rgba = np.zeros((56, 56, 4), np.uint8)  # black ink, alpha = the digit, fully transparent paper
    rgba[..., 3] = alpha
    on_white = Image.fromarray(255 - alpha)  # the same picture, flattened by hand
    np.testing.assert_allclose(preprocess(Image.fromarray(rgba, "RGBA")), preprocess(on_white), atol=1e-2)


@pytest.mark.parametrize("value", [0, 255, 128])
def test_blank_images_are_reported_not_guessed(value):
    with pytest.raises(ImageError, match="blank"):
        preprocess(Image.new("L", (64, 64), value))


def test_unreadable_inputs_give_one_line_errors(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("hello")
    (tmp_path / "IMG_0001.HEIC").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64))
    for source, reason in (
        (tmp_path / "empty.png", "empty file"),
        (tmp_path / "text.png", "not a readable image"),
        (tmp_path / "IMG_0001.HEIC", "HEIC/HEIF or AVIF .*save it as JPEG or PNG"),
        (tmp_path / "missing.png", "No such file"),
        (tmp_path, "is a directory"),
    ):
        with pytest.raises(ImageError, match=reason):
            preprocess(source)


def test_model_errors_are_clear(tmp_path):
    with pytest.raises(ModelError, match="no such model file"):
        Predictor(tmp_path / "none.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"\x00garbage")
    with pytest.raises(ModelError, match="not a loadable ONNX model"):
        Predictor(tmp_path / "junk.onnx")
    with pytest.raises(ModelError, match="run 'mnist-edge export'"):
        from mnist_edge.runtime import default_model_path

        default_model_path(tmp_path, shipped=False)


def test_shipped_model_loads_verifies_and_recognises_the_sample(sample):
    from mnist_edge.runtime import shipped_model_path

    for quantized in (True, False):
        predictor = Predictor(shipped_model_path(quantized), verify=True)
        labels = [r.label for r in predictor.predict_batch(list(sample.x_test))]
        assert np.mean(np.array(labels) == sample.y_test) >= 0.98
    card = Predictor().card  # the default is the shipped int8 model
    assert card["quantization"].startswith("int8")
    assert card["source"]["training"]["command"].startswith("mnist-edge train --recipe best")
    assert len(card["source"]["data"]["sha256"]) == 4


def test_predict_falls_back_to_the_shipped_model(tmp_path):
    from mnist_edge.runtime import default_model_path, shipped_model_path

    assert default_model_path(tmp_path) == shipped_model_path()


def test_shipped_model_on_the_full_test_set_and_on_photos(mnist):
    """Evaluated here, independently of the accuracy its card claims. The card tells the truth to the
    digit in fp32; the shipped int8 model (8-bit weights, ``export.quantize``) may differ by a couple of
    test digits on a CPU without VNNI, where onnxruntime's int8 kernel saturates (one digit here)."""
    from mnist_edge.runtime import shipped_model_path
    from mnist_edge.training.data import to_model_input

    for quantized, floor, digits_apart in ((False, 0.99, 0), (True, 0.99, 3)):
        predictor = Predictor(shipped_model_path(quantized))
        right = int(np.sum(predictor.probabilities(to_model_input(mnist.x_test)).argmax(axis=1) == mnist.y_test))
        assert right >= floor * len(mnist.y_test)
        assert abs(right - round(predictor.card["test_accuracy"] * len(mnist.y_test))) <= digits_apart
    picks = range(3, 10000, 40)
    photos = [photo_of_digit(mnist.x_test[i], size=200 + i % 200) for i in picks]
    results = Predictor().predict_batch(photos)
    assert np.mean([r.label == y for r, y in zip(results, mnist.y_test[list(picks)], strict=True)]) > 0.95
