"""Issue 14, items 3 and 11: models outside the runtime contract, and models that output NaN.

Tiny ONNX models built with ``onnx.helper`` (so this file needs the onnx package), sealed with
the shipped model's card so that only the property under test is wrong.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from mnist_edge.errors import ModelError
from mnist_edge.runtime import Predictor
from mnist_edge.runtime.integrity import seal, strip_metadata, verify
from mnist_edge.runtime.predictor import shipped_model_path

pytestmark = pytest.mark.export

ROOT = Path(__file__).parent.parent
DIGIT = ROOT / "examples" / "digits" / "mnist_test_00000_label_7.png"


@pytest.fixture(scope="module")
def card() -> dict:
    return verify(shipped_model_path().read_bytes(), "shipped")


def _model(
    card: dict,
    in_shape=("batch", 784),
    out_shape=("batch", 10),
    in_type=TensorProto.FLOAT,
    out_type=TensorProto.FLOAT,
    weight: float = 0.01,
    opset: int = 17,
    extra_input: bool = False,
) -> bytes:
    """pixels → MatMul(W) → Softmax → probabilities, W filled with ``weight`` (NaN for broken weights)."""
    n_in, n_out = 784, 10
    w = numpy_helper.from_array(np.full((n_in, n_out), weight, np.float32), "W")
    nodes = [
        helper.make_node("MatMul", ["pixels", "W"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"]),
    ]
    if in_type != TensorProto.FLOAT:
        nodes.insert(0, helper.make_node("Cast", ["pixels"], ["pixels_f"], to=TensorProto.FLOAT))
        nodes[1].input[0] = "pixels_f"
    if out_type != TensorProto.FLOAT:
        nodes[-1].output[0] = "probs_f"
        nodes.append(helper.make_node("Cast", ["probs_f"], ["probabilities"], to=out_type))
    inputs = [helper.make_tensor_value_info("pixels", in_type, list(in_shape))]
    if extra_input:
        inputs.append(helper.make_tensor_value_info("other", TensorProto.FLOAT, ["batch", 1]))
    graph = helper.make_graph(
        nodes, "g", inputs, [helper.make_tensor_value_info("probabilities", out_type, list(out_shape))], [w]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8  # onnx >= 1.20 writes IR versions onnxruntime may not read yet
    fresh = {k: v for k, v in card.items() if k not in ("graph_sha256", "content_sha256")}
    return seal(strip_metadata(model.SerializeToString()), fresh)


def _write(tmp_path: Path, data: bytes, name="m.onnx") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_a_conforming_tiny_model_loads(tmp_path, card):
    p = Predictor(_write(tmp_path, _model(card)), verify=True)
    assert len(p.predict(DIGIT).probabilities) == 10


BAD = {
    "fixed batch [1, 784]": dict(in_shape=(1, 784), out_shape=(1, 10)),
    "input [batch, 100]": dict(in_shape=("batch", 100)),
    "input rank 3": dict(in_shape=("batch", 28, 28)),
    "float64 input": dict(in_type=TensorProto.DOUBLE),
    "uint8 input": dict(in_type=TensorProto.UINT8),
    "output [batch, 5]": dict(out_shape=("batch", 5)),
    "float64 output": dict(out_type=TensorProto.DOUBLE),
    "two inputs": dict(extra_input=True),
    "opset 99": dict(opset=99),
}


@pytest.mark.parametrize("label", list(BAD))
def test_model_outside_the_contract_gives_one_line(tmp_path, card, label):
    try:
        data = _model(card, **BAD[label])
    except Exception as e:  # onnx.helper refusing is fine too, but say so
        pytest.skip(f"onnx cannot build it: {e}")
    path = _write(tmp_path, data)
    with pytest.raises(ModelError) as info:
        Predictor(path).predict_batch([DIGIT, DIGIT])
    assert "\n" not in str(info.value) and str(path) in str(info.value)
    r = subprocess.run(
        [sys.executable, "-m", "mnist_edge", "predict", "--model", str(path), str(DIGIT), str(DIGIT)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr


@pytest.mark.parametrize("weight", [float("nan"), float("inf")])
def test_non_finite_outputs_are_an_error_and_json_stays_valid(tmp_path, card, weight):
    path = _write(tmp_path, _model(card, weight=weight))
    with pytest.raises(ModelError, match="non-finite"):
        Predictor(path).predict(DIGIT)
    r = subprocess.run(
        [sys.executable, "-m", "mnist_edge", "predict", "--json", "--model", str(path), str(DIGIT)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )

    def strict(name):
        raise ValueError(f"{name} in JSON output")

    for line in r.stdout.splitlines():
        json.loads(line, parse_constant=strict)
    assert r.returncode == 1 and str(path) in r.stderr and len(r.stderr.strip().splitlines()) == 1
