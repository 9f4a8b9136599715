"""A model must be what it claims: card present, preprocessing spec matching, shape right, weights intact."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import run_cli
from mnist_edge.contract import CARD_KEY
from mnist_edge.runtime import ModelError, Predictor
from mnist_edge.runtime.integrity import graph_sha256


def rewrite_card(src, dst, change):
    model = onnx.load(str(src))
    props = {p.key: p.value for p in model.metadata_props}
    card = json.loads(props[CARD_KEY])
    change(card)
    del model.metadata_props[:]
    if card is not None and card != {}:
        entry = model.metadata_props.add()
        entry.key, entry.value = CARD_KEY, json.dumps(card)
    onnx.save(model, str(dst))
    return dst


def test_graph_hash_matches_the_card_and_survives_metadata_edits(exported, tmp_path):
    path = exported["dir"] / "model.int8.onnx"
    predictor = Predictor(path, verify=True)
    assert predictor.card["graph_sha256"] == graph_sha256(path.read_bytes())
    relabelled = rewrite_card(path, tmp_path / "relabelled.onnx", lambda c: c.update(name="renamed"))
    Predictor(relabelled)  # the graph is untouched: it loads ...
    with pytest.raises(ModelError):  # ... but the seal covers the card too (issue 14): --verify refuses it
        Predictor(relabelled, verify=True)


def test_tampered_weights_fail_verification(exported, tmp_path):
    model = onnx.load(str(exported["dir"] / "model.onnx"))
    weights = max(model.graph.initializer, key=lambda t: len(t.raw_data))
    array = numpy_helper.to_array(weights).copy()
    array[0, 0] += 0.5
    weights.CopyFrom(numpy_helper.from_array(array, weights.name))
    onnx.save(model, str(tmp_path / "tampered.onnx"))
    Predictor(tmp_path / "tampered.onnx")  # loads: verification is opt-in
    with pytest.raises(ModelError, match="does not match its card"):
        Predictor(tmp_path / "tampered.onnx", verify=True)
    result = run_cli("predict", "--verify", "--model", tmp_path / "tampered.onnx", "whatever.png")
    assert result.returncode == 1 and "does not match its card" in result.stderr and "Traceback" not in result.stderr


def test_missing_card_and_wrong_preprocessing_are_refused(exported, tmp_path):
    src = exported["dir"] / "model.onnx"
    no_card = rewrite_card(src, tmp_path / "no_card.onnx", lambda c: c.clear())
    with pytest.raises(ModelError, match="no mnist-edge model card"):
        Predictor(no_card)
    other = rewrite_card(src, tmp_path / "other.onnx", lambda c: c["preprocessing"].update(spec="someone-else/9"))
    with pytest.raises(ModelError, match="expects preprocessing someone-else/9"):
        Predictor(other)


def test_wrong_input_shape_is_refused(tmp_path):
    weights = numpy_helper.from_array(np.zeros((100, 10), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "wrong",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 100])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 10])],
        [weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # onnxruntime 1.31 rejects the newest IR version onnx writes by default
    entry = model.metadata_props.add()
    entry.key, entry.value = CARD_KEY, json.dumps({"preprocessing": {"spec": "mnist-edge-preprocess/1"}})
    onnx.save(model, str(tmp_path / "wrong.onnx"))
    with pytest.raises(ModelError, match=r"expected float32 \[N, 784\]"):
        Predictor(tmp_path / "wrong.onnx")


def test_truncated_onnx_is_a_clear_error(exported, tmp_path):
    data = (exported["dir"] / "model.onnx").read_bytes()
    (tmp_path / "cut.onnx").write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelError, match="cut.onnx"):
        Predictor(tmp_path / "cut.onnx")
    result = run_cli("predict", "--model", tmp_path / "cut.onnx", "x.png")
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_export_card_links_back_to_training(exported):
    card = Predictor(exported["dir"] / "model.onnx").card
    training = card["source"]["training"]
    assert training["config"]["seed"] == 1 and training["epochs_trained"] == 2
    assert card["source"]["data"]["sha256"]["t10k-images-idx3-ubyte.gz"].startswith("8d422c7b")
