"""Graph rewrites that make the int8 model cheaper to run at batch 1.

onnxruntime spends about 0.7 µs of fixed cost per node on top of the arithmetic, and the MLP
is small enough for that to matter. tf2onnx writes each Dense layer as MatMul → Add (→ Relu);
the quantizer turns that into QLinearMatMul → QLinearAdd, nine nodes in all with the input
QuantizeLinear and the closing DequantizeLinear → Softmax. Two rewrites remove four of them:

* ``fuse_dense_layers`` (before quantization): MatMul + bias Add → one Gemm, so the quantizer
  emits one QGemm per layer, with the bias folded in as int32. The Relu is absorbed too: a uint8
  output with zero point 0 clips at zero by itself.
* ``float_output_last_qgemm`` (after quantization): a QGemm whose output only feeds a
  DequantizeLinear can write float directly (QGemm without ``y_scale``). That also skips one
  rounding of the logits.
"""

from __future__ import annotations

from onnx import ModelProto, helper


def fuse_dense_layers(model: ModelProto) -> int:
    """Rewrite every MatMul(x, W) → Add(·, b) with constant W [K, N], b [N] into Gemm(x, W, b).

    Works in place and returns how many layers were fused.
    """
    graph = model.graph
    constants = {t.name: t for t in graph.initializer}
    consumers = consumers_of(graph)
    fused = 0
    for matmul in list(graph.node):
        if matmul.op_type != "MatMul" or matmul.input[1] not in constants:
            continue
        weight = constants[matmul.input[1]]
        users = consumers.get(matmul.output[0], [])
        if len(weight.dims) != 2 or len(users) != 1 or users[0].op_type != "Add":
            continue
        add = users[0]
        bias_name = add.input[1] if add.input[0] == matmul.output[0] else add.input[0]
        bias = constants.get(bias_name)
        if bias is None or list(bias.dims) != [weight.dims[1]] or matmul.output[0] in _graph_outputs(graph):
            continue
        gemm = helper.make_node(
            "Gemm", [matmul.input[0], matmul.input[1], bias_name], [add.output[0]], name=add.name or matmul.name
        )
        position = list(graph.node).index(matmul)
        graph.node.remove(matmul)
        graph.node.remove(add)
        graph.node.insert(position, gemm)
        fused += 1
    return fused


def float_output_last_qgemm(model: ModelProto) -> int:
    """Let a QGemm feeding only a DequantizeLinear output float itself; returns how many were merged."""
    graph = model.graph
    consumers = consumers_of(graph)
    merged = 0
    for node in list(graph.node):
        if node.op_type != "QGemm" or len(node.input) < 9:
            continue
        users = consumers.get(node.output[0], [])
        if len(users) != 1 or users[0].op_type != "DequantizeLinear" or node.output[0] in _graph_outputs(graph):
            continue
        dequantize = users[0]
        # the dequantize must use the very scale and zero point the QGemm quantized with
        if list(dequantize.input[1:3]) != list(node.input[7:9]):
            continue
        del node.input[7:]
        node.output[0] = dequantize.output[0]
        graph.node.remove(dequantize)
        merged += 1
    _drop_unused_initializers(graph)
    return merged


def consumers_of(graph) -> dict[str, list]:
    """Tensor name → the nodes that read it."""
    out: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            out.setdefault(name, []).append(node)
    return out


def _graph_outputs(graph) -> set[str]:
    return {o.name for o in graph.output}


def _drop_unused_initializers(graph) -> None:
    used = {name for node in graph.node for name in node.input} | _graph_outputs(graph)
    keep = [t for t in graph.initializer if t.name in used]
    if len(keep) != len(graph.initializer):
        del graph.initializer[:]
        graph.initializer.extend(keep)
