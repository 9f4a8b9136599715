"""Keras → ONNX (fp32) with tf2onnx: one float32 input ``pixels [batch, 784]``, one output ``probabilities``."""

from __future__ import annotations

from pathlib import Path

from ..contract import INPUT_NAME, INPUT_SIZE, OUTPUT_NAME
from ..errors import ModelError, first_line
from ..training.keras_env import import_keras

OPSET = 17


def check_keras_path(path: Path) -> None:
    """Fail fast, before TensorFlow is imported."""
    if not Path(path).is_file():
        raise ModelError(f"{path}: no such Keras model; run 'mnist-edge train' first")


def load_keras_model(path: Path):
    path = Path(path)
    check_keras_path(path)
    keras = import_keras()
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as e:
        raise ModelError(f"{path}: not a loadable Keras model ({first_line(e)})") from None


def keras_to_onnx(keras_model):
    """Convert with tf2onnx through a tf.function (``from_keras`` fails on Keras 3 models)."""
    import tensorflow as tf
    import tf2onnx

    spec = (tf.TensorSpec((None, INPUT_SIZE), tf.float32, name=INPUT_NAME),)
    function = tf.function(lambda x: keras_model(x, training=False))
    proto, _ = tf2onnx.convert.from_function(function, input_signature=spec, opset=OPSET)
    _name_io(proto)
    return proto


def _name_io(proto) -> None:
    """Give the graph output a stable name and both batch dimensions the name ``batch``."""
    graph = proto.graph
    old = graph.output[0].name
    for node in graph.node:
        for i, name in enumerate(node.output):
            if name == old:
                node.output[i] = OUTPUT_NAME
    graph.output[0].name = OUTPUT_NAME
    for value in (graph.input[0], graph.output[0]):
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
