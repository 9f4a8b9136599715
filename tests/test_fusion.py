"""The int8 graph rewrites: each keeps the numbers and removes the nodes it promises to remove."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from mnist_edge.export.fusion import float_output_last_qgemm, fuse_dense_layers
from mnist_edge.runtime import Predictor
from mnist_edge.training.data import to_model_input

IR_VERSION = 9  # onnx >= 1.20 writes IR 14 by default, which onnxruntime 1.31 rejects


def tiny_mlp(share_matmul_output: bool = False) -> onnx.ModelProto:
    """pixels [batch, 6] → Dense 4 relu → Dense 3 → softmax, laid out as tf2onnx writes it."""
    rng = np.random.default_rng(0)
    initializers = [
        numpy_helper.from_array(rng.normal(size=(6, 4)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.normal(size=4).astype(np.float32), "b1"),
        numpy_helper.from_array(rng.normal(size=(4, 3)).astype(np.float32), "w2"),
        numpy_helper.from_array(rng.normal(size=3).astype(np.float32), "b2"),
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["m1"]),
        helper.make_node("Add", ["m1", "b1"], ["a1"]),
        helper.make_node("Relu", ["a1"], ["r1"]),
        helper.make_node("MatMul", ["r1", "w2"], ["m2"]),
        helper.make_node("Add", ["b2", "m2"], ["a2"]),  # bias first: either order is an Add
        helper.make_node("Softmax", ["a2"], ["y"], axis=-1),
    ]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])]
    if share_matmul_output:  # m1 is also a graph output: fusing would lose it
        outputs.append(helper.make_tensor_value_info("m1", TensorProto.FLOAT, ["batch", 4]))
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 6])], outputs, initializers
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = IR_VERSION
    return model


def run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(["y"], {"x": x})[0]


def test_dense_layers_fuse_into_gemm_with_the_same_output():
    x = np.random.default_rng(1).random((5, 6), dtype=np.float32)
    model = tiny_mlp()
    before = run(model, x)
    assert fuse_dense_layers(model) == 2
    onnx.checker.check_model(model)
    assert [n.op_type for n in model.graph.node] == ["Gemm", "Relu", "Gemm", "Softmax"]
    np.testing.assert_allclose(run(model, x), before, rtol=1e-6, atol=1e-7)


def test_a_matmul_whose_output_is_needed_elsewhere_is_left_alone():
    model = tiny_mlp(share_matmul_output=True)
    assert fuse_dense_layers(model) == 1  # only the second layer
    assert [n.op_type for n in model.graph.node] == ["MatMul", "Add", "Relu", "Gemm", "Softmax"]


def qgemm_then_dequantize(dequantize_scale: str) -> onnx.ModelProto:
    constants = {
        "a_scale": np.array(0.02, np.float32),
        "a_zero": np.array(0, np.uint8),
        "w": np.arange(-6, 6, dtype=np.int8).reshape(3, 4),
        "w_scale": np.array(0.05, np.float32),
        "w_zero": np.array(0, np.int8),
        "bias": np.array([10, -10, 0], np.int32),
        "y_scale": np.array(0.02, np.float32),
        "y_zero": np.array(128, np.uint8),
    }
    if dequantize_scale != "y_scale":
        constants[dequantize_scale] = np.array(0.03, np.float32)
    nodes = [
        helper.make_node(
            "QGemm",
            ["x", "a_scale", "a_zero", "w", "w_scale", "w_zero", "bias", "y_scale", "y_zero"],
            ["q"],
            domain="com.microsoft",
            transB=1,
        ),
        helper.make_node("DequantizeLinear", ["q", dequantize_scale, "y_zero"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "qgemm",
        [helper.make_tensor_value_info("x", TensorProto.UINT8, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
        [numpy_helper.from_array(v, k) for k, v in constants.items()],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    )
    model.ir_version = IR_VERSION
    return model


def test_last_qgemm_writes_float_itself_and_skips_a_rounding():
    x = np.array([[3, 50, 7, 200], [0, 0, 0, 0], [255, 1, 128, 9]], np.uint8)
    model = qgemm_then_dequantize("y_scale")
    rounded = run(model, x)
    assert float_output_last_qgemm(model) == 1
    assert [n.op_type for n in model.graph.node] == ["QGemm"]
    assert {t.name for t in model.graph.initializer}.isdisjoint({"y_scale", "y_zero", "other_scale"})
    exact = run(model, x)
    np.testing.assert_allclose(exact, rounded, atol=0.02 / 2 + 1e-6)  # within half a quantization step
    assert not np.array_equal(exact, rounded)  # and really unrounded


def test_a_dequantize_with_another_scale_is_not_merged():
    model = qgemm_then_dequantize("other_scale")
    assert float_output_last_qgemm(model) == 0
    assert [n.op_type for n in model.graph.node] == ["QGemm", "DequantizeLinear"]


def test_exported_int8_model_is_five_nodes(exported):
    model = onnx.load(str(exported["dir"] / "model.int8.onnx"))
    assert [n.op_type for n in model.graph.node] == ["QuantizeLinear", "QGemm", "QGemm", "QGemm", "Softmax"]


@pytest.mark.parametrize("shape", [(784,), (28, 28), (1, 784)])
def test_single_digit_fast_path_matches_the_batched_path(exported, mnist, shape):
    predictor = Predictor(exported["dir"] / "model.int8.onnx")
    digits = to_model_input(mnist.x_test[:20])
    batched = predictor.probabilities(digits)
    singles = [predictor.probabilities(d.reshape(shape)) for d in digits]
    assert all(s.shape == (1, 10) for s in singles)
    np.testing.assert_array_equal(np.concatenate(singles), batched)
    assert not np.shares_memory(singles[0], singles[1])  # each call returns its own array
