"""The portable int8 model: plain ONNX, the same labels as the onnxruntime int8 model, in every runtime.

Runtimes that install from PyPI run here (CI installs them: onnx in the train extra,
opencv-python-headless in the portable extra); a test for a runtime that is absent is skipped.
"""

from __future__ import annotations

import importlib.util
import json
import shutil

import numpy as np
import pytest

from conftest import copy_model_dir, run_cli
from mnist_edge.contract import CARD_KEY, FP32_FILE, INT8_FILE, PORTABLE_FILE
from mnist_edge.runtime import shipped_model_path

SAMPLE = slice(0, 10000, 5)  # 2,000 test digits spread over the test set
HAS_OPENCV = importlib.util.find_spec("cv2") is not None


def _shipped(name: str):
    return shipped_model_path().parent / name


def _x(mnist):
    from mnist_edge.training.data import to_model_input

    return to_model_input(mnist.x_test[SAMPLE]), mnist.y_test[SAMPLE]


def test_shipped_portable_model_is_plain_onnx_that_passes_the_full_check():
    import onnx

    model = onnx.load(str(_shipped(PORTABLE_FILE)))
    onnx.checker.check_model(model, full_check=True)
    assert {node.domain for node in model.graph.node} == {""}, "only default-domain ops"
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 19)]
    assert model.ir_version <= 10  # what onnxruntime and OpenCV accept
    assert {node.op_type for node in model.graph.node} == {"QuantizeLinear", "DequantizeLinear", "Gemm", "Softmax"}
    assert [i.name for i in model.graph.input] == ["pixels"] and [o.name for o in model.graph.output] == [
        "probabilities"
    ]
    int8_weights = [t for t in model.graph.initializer if t.data_type == onnx.TensorProto.INT8 and len(t.dims) == 2]
    assert sorted(tuple(t.dims) for t in int8_weights) == [(512, 10), (512, 512), (784, 512)]


def test_shipped_models_come_from_one_keras_model():
    import onnx

    sources = set()
    for name in (FP32_FILE, INT8_FILE, PORTABLE_FILE):
        card = json.loads({p.key: p.value for p in onnx.load(str(_shipped(name))).metadata_props}[CARD_KEY])
        sources.add(card["source"]["keras_model_sha256"])
        if name == PORTABLE_FILE:
            assert "default-domain" in card["quantization"] and card["opset"] == 19
    assert len(sources) == 1


@pytest.mark.parametrize("runtime", ["onnxruntime", "reference", "opencv"])
def test_shipped_portable_model_agrees_with_the_onnxruntime_int8_model(runtime, mnist):
    from mnist_edge.export.runtimes import missing, runner

    if runtime == "opencv" and not HAS_OPENCV:
        pytest.skip(missing("opencv"))
    x, y = _x(mnist)
    fused = runner("onnxruntime", _shipped(INT8_FILE))(x)
    portable = runner(runtime, _shipped(PORTABLE_FILE))(x)
    fp32 = runner(runtime, _shipped(FP32_FILE))(x)
    assert portable.shape == (len(x), 10)
    assert (portable.argmax(1) == fused.argmax(1)).mean() >= 0.995
    assert (portable.argmax(1) == fp32.argmax(1)).mean() >= 0.995
    accuracy_pp = lambda p: (p.argmax(1) == y).mean() * 100  # noqa: E731
    assert accuracy_pp(fp32) - accuracy_pp(portable) <= 0.2


def test_fused_int8_model_is_not_portable():
    import onnx

    from mnist_edge.export.portable import default_domain
    from mnist_edge.export.runtimes import unsupported

    with pytest.raises(ValueError, match="com.microsoft.QGemm"):
        default_domain(onnx.load(str(_shipped(INT8_FILE))))
    assert "com.microsoft" in unsupported("reference", _shipped(INT8_FILE))
    assert unsupported("reference", _shipped(PORTABLE_FILE)) is None
    assert unsupported("onnxruntime", _shipped(INT8_FILE)) is None


def test_export_portable_writes_a_third_model_behind_the_same_gate(exported):
    import onnx

    report = exported["parity"]
    assert report["passed"], report["failures"]
    assert set(exported["files"]) == {"onnx_fp32", "onnx_int8", "onnx_int8_portable"}
    portable = report["models"]["onnx_int8_portable"]
    assert portable["agreement"] >= 0.995 and portable["accuracy_drop_pp"] <= 0.3
    model = onnx.load(exported["files"]["onnx_int8_portable"])
    onnx.checker.check_model(model, full_check=True)
    assert {node.domain for node in model.graph.node} == {""}
    card = json.loads({p.key: p.value for p in model.metadata_props}[CARD_KEY])
    assert card["quantization"].startswith("int8 portable") and card["opset"] == 19


def test_parity_in_every_runtime_that_is_installed(exported):
    from mnist_edge.export import run_parity

    report = run_parity(
        exported["dir"], test_images=500, measure_speed=False, runtimes=("onnxruntime", "reference", "opencv")
    )
    assert report["passed"], report["failures"]
    expected = {"onnxruntime", "reference"} | ({"opencv"} if HAS_OPENCV else set())
    assert set(report["runtimes"]) == expected
    for runtime in expected - {"onnxruntime"}:
        assert set(report["runtimes"][runtime]) == {"onnx_fp32", "onnx_int8_portable"}
        assert report["runtimes"][runtime]["onnx_fp32"]["agreement"] == 1.0
        assert report["runtimes"][runtime]["onnx_int8_portable"]["agreement"] >= 0.995
        assert any(note.startswith(f"onnx int8 in {runtime} skipped") for note in report["skipped"])


def test_a_missing_runtime_is_skipped_with_a_note(exported, monkeypatch):
    from mnist_edge.export import run_parity, runtimes

    monkeypatch.setattr(runtimes, "_installed", lambda module: module != "cv2")
    report = run_parity(exported["dir"], test_images=500, measure_speed=False, runtimes=("onnxruntime", "opencv"))
    assert report["passed"], report["failures"]
    assert set(report["runtimes"]) == {"onnxruntime"}
    assert report["skipped"] == [
        "opencv skipped: cv2 is not installed; needs opencv-python-headless (pip install 'mnist-edge[portable]')"
    ]


def test_a_runtime_that_gets_a_portable_model_wrong_fails_the_gate(exported, monkeypatch):
    from mnist_edge.export import run_parity, runtimes

    real = runtimes.reference_runner
    monkeypatch.setattr(runtimes, "reference_runner", lambda path: lambda x: np.roll(real(path)(x), 1, axis=1))
    report = run_parity(exported["dir"], test_images=100, measure_speed=False, runtimes=("onnxruntime", "reference"))
    assert not report["passed"]
    assert any(f.startswith("portable int8 in reference agrees with Keras on") for f in report["failures"])
    assert any(f.startswith("fp32 in reference agrees with Keras on") for f in report["failures"])


def test_parity_cli_takes_a_runtime_list(exported, tmp_path):
    """On the whole test set, in a copy of the models: on a few hundred images the synthetic non-digits
    outweigh the digits, and the test model (2 epochs, 4,000 images) has many near its threshold."""
    folder = copy_model_dir(exported["dir"], tmp_path / "models")
    shutil.copy2(exported["dir"] / PORTABLE_FILE, folder / PORTABLE_FILE)
    result = run_cli("parity", "--dir", folder, "--runtime", "onnxruntime,reference", "--no-speed")
    assert result.returncode == 0, result.stderr
    assert "reference" in result.stdout and "int8 portable" in result.stdout and "gate: passed" in result.stdout
    assert "note: onnx int8 in reference skipped: uses com.microsoft ops" in result.stdout
    bad = run_cli("parity", "--dir", exported["dir"], "--runtime", "tensorrt")
    assert bad.returncode != 0 and "tensorrt" in bad.stderr
