"""Graph rewrites for the portable int8 model: default-domain ONNX ops only, for any ONNX runtime.

The portable model is onnxruntime's quantizer in QDQ format on the Gemm-fused graph (see
``fuse_dense_layers``): QuantizeLinear → DequantizeLinear pairs around each Gemm, weights int8 per
tensor, activations uint8, all plain ONNX. onnxruntime fuses the pairs back into QGemm kernels, so
in onnxruntime it runs about as fast as the default int8 model. Three choices make it run, with the
same labels, in the ONNX reference evaluator and in OpenCV DNN too (measured with onnx 1.23,
opencv-python-headless 5.0 and 4.14):

* Biases stay float (the quantizer's ``QuantizeBias: False``). With int32 biases behind a
  DequantizeLinear, OpenCV 5.0 refuses the graph (``bufidx >= 0`` in ``argTensor``) and OpenCV
  4.14 runs it but gets 45–87 % of the test digits right, differently on each run.
* ``float_logits``: the last Gemm writes float logits straight into the Softmax, without a
  QuantizeLinear → DequantizeLinear pair between them: one rounding fewer, as in the default int8
  model.
* ``default_domain``: opset 19 (the reference evaluator implements QuantizeLinear and
  DequantizeLinear from opset 19 on), IR version 9, and no opset imports besides the default one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing this module does not import onnx (the card imports the opset)
    from onnx import ModelProto

PORTABLE_OPSET = 19  # onnx.reference implements QuantizeLinear/DequantizeLinear from opset 19 on
PORTABLE_IR_VERSION = 9  # opset 19's IR version; onnxruntime rejects what onnx >= 1.20 writes by default


def float_logits(model: ModelProto) -> int:
    """Bypass each QuantizeLinear → DequantizeLinear pair that only feeds Softmax; returns how many."""
    graph = model.graph
    from .fusion import consumers_of  # fusion imports onnx: only when a graph is rewritten

    consumers = consumers_of(graph)
    outputs = {value.name for value in graph.output}
    removed = 0
    for quantize in list(graph.node):
        users = consumers.get(quantize.output[0], [])
        if quantize.op_type != "QuantizeLinear" or len(users) != 1 or users[0].op_type != "DequantizeLinear":
            continue
        dequantize = users[0]
        after = consumers.get(dequantize.output[0], [])
        if not after or any(node.op_type != "Softmax" for node in after) or dequantize.output[0] in outputs:
            continue
        for node in after:
            node.input[:] = [quantize.input[0] if name == dequantize.output[0] else name for name in node.input]
        graph.node.remove(quantize)
        graph.node.remove(dequantize)
        removed += 1
    used = {name for node in graph.node for name in node.input}
    for tensor in [t for t in graph.initializer if t.name not in used]:
        graph.initializer.remove(tensor)
    return removed


def default_domain(model: ModelProto) -> ModelProto:
    """The model at opset ``PORTABLE_OPSET`` and IR ``PORTABLE_IR_VERSION``, default domain only.

    Raises ValueError when a node outside the default domain remains.
    """
    foreign = sorted(
        {f"{node.domain}.{node.op_type}" for node in model.graph.node if node.domain not in ("", "ai.onnx")}
    )
    if foreign:
        raise ValueError(f"not default-domain ONNX: {', '.join(foreign)}")
    from onnx import version_converter

    version = max(entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx"))
    del model.opset_import[:]  # drops ai.onnx.ml (tf2onnx declares it) and com.microsoft (the quantizer does)
    model.opset_import.add(domain="", version=version)
    converted = version_converter.convert_version(model, PORTABLE_OPSET)
    converted.ir_version = PORTABLE_IR_VERSION
    return converted
