"""Which int8 ONNX recipe and which onnxruntime call path are fastest at batch 1? Measured against TFLite int8.

    python benchmarks/int8_variants.py --dir artifacts [--out benchmarks/int8_variants.json]

Builds quantized variants of artifacts/model.onnx: QOperator or QDQ, u8 or s8 activations,
per-channel or per-tensor weights, each Dense layer fused into one Gemm before quantization or not,
the last QGemm writing float or not, dynamic, weight-only MatMulNBits 8/4-bit, and exactly what
`mnist-edge export --quantize` writes (export_static). Each runs through plain `run` and pre-bound
I/O, with and without spinning; the exported model in --dir also runs through `Predictor`. All are
sampled with TFLite int8 in interleaved rounds. Accuracy on the 10,000 test images and the node count
are reported for each variant. Needs pip install '.[train,bench]'.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compare_runtimes import best_throughput, tflite_models, tflite_runner  # noqa: E402

from mnist_edge.export.convert import load_keras_model  # noqa: E402
from mnist_edge.export.fusion import float_output_last_qgemm, fuse_dense_layers  # noqa: E402
from mnist_edge.export.quantize import _CalibrationReader, quantize  # noqa: E402
from mnist_edge.runtime import Predictor  # noqa: E402
from mnist_edge.training.data import load_mnist, to_model_input  # noqa: E402


def variants(fp32: Path, calibration: np.ndarray, work: Path) -> dict[str, Path]:
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static

    fused = work / "fused.onnx"  # MatMul+Add → Gemm first, so that quantization makes one QGemm per layer
    model = onnx.load(str(fp32))
    fuse_dense_layers(model)
    onnx.save(model, str(fused))

    out = {}
    recipes = {
        "qop_u8s8_pc": (QuantFormat.QOperator, QuantType.QUInt8, True, fp32),
        "qop_s8s8_pc": (QuantFormat.QOperator, QuantType.QInt8, True, fp32),
        "qop_u8s8_pt": (QuantFormat.QOperator, QuantType.QUInt8, False, fp32),
        "qdq_u8s8_pc": (QuantFormat.QDQ, QuantType.QUInt8, True, fp32),
        "qdq_s8s8_pc": (QuantFormat.QDQ, QuantType.QInt8, True, fp32),
        "gemm_qop_u8s8_pc": (QuantFormat.QOperator, QuantType.QUInt8, True, fused),
        "gemm_qop_u8s8_pt": (QuantFormat.QOperator, QuantType.QUInt8, False, fused),
        "gemm_qdq_u8s8_pt": (QuantFormat.QDQ, QuantType.QUInt8, False, fused),
    }
    for name, (fmt, activations, per_channel, source) in recipes.items():
        path = work / f"{name}.onnx"
        quantize_static(
            str(source),
            str(path),
            _CalibrationReader(calibration),
            quant_format=fmt,
            activation_type=activations,
            weight_type=QuantType.QInt8,
            per_channel=per_channel,
            op_types_to_quantize=["MatMul", "Add", "Gemm", "Relu"],
        )
        out[name] = path
    for name in ("gemm_qop_u8s8_pc", "gemm_qop_u8s8_pt"):  # and the last QGemm writing float logits
        model = onnx.load(str(out[name]))
        float_output_last_qgemm(model)
        out[name + "_floatout"] = work / f"{name}_floatout.onnx"
        onnx.save(model, str(out[name + "_floatout"]))
    out["export_static"] = work / "export_static.onnx"  # what `mnist-edge export --quantize` writes
    quantize(fp32, out["export_static"], "static", calibration)
    out["dynamic"] = work / "dynamic.onnx"
    quantize_dynamic(str(fp32), str(out["dynamic"]), weight_type=QuantType.QInt8)
    out.update(weight_only_variants(fp32, work))
    return out


def weight_only_variants(fp32: Path, work: Path) -> dict[str, Path]:
    """MatMulNBits (weight-only 8/4-bit, int8 compute): onnxruntime's kernels for batch-1 LLM decoding."""
    import onnx

    try:
        from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer
    except ImportError as e:  # the quantizer needs onnx-ir
        print(f"skipping weight-only variants ({e}; pip install onnx-ir)")
        return {}
    out = {}
    for bits in (8, 4):
        config = DefaultWeightOnlyQuantConfig(block_size=256, is_symmetric=True, accuracy_level=4, bits=bits)
        quantizer = MatMulNBitsQuantizer(onnx.load(str(fp32)), algo_config=config)
        quantizer.process()
        model = quantizer.model.model
        _bias_into_matmulnbits(model.graph)
        path = work / f"weightonly_{bits}bit.onnx"
        onnx.save(model, str(path))
        out[f"weightonly_{bits}bit"] = path
    return out


def _bias_into_matmulnbits(graph) -> None:
    """MatMulNBits → Add(constant bias) becomes MatMulNBits with its optional bias input (input 5)."""
    constants = {t.name for t in graph.initializer}
    for node in [n for n in graph.node if n.op_type == "MatMulNBits"]:
        users = [n for n in graph.node if node.output[0] in n.input]
        if len(users) != 1 or users[0].op_type != "Add":
            continue
        add = users[0]
        bias = add.input[1] if add.input[0] == node.output[0] else add.input[0]
        if bias not in constants:
            continue
        while len(node.input) < 5:
            node.input.append("")
        node.input.append(bias)
        node.output[0] = add.output[0]
        graph.node.remove(add)


def ort_runners(path: Path, spinning: bool) -> dict[str, callable]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    output = session.get_outputs()[0].name

    def plain(x):
        return session.run([output], {name: x})[0]

    buffer_in = np.zeros((1, 784), np.float32)
    buffer_out = np.zeros((1, 10), np.float32)
    binding = session.io_binding()
    binding.bind_cpu_input(name, buffer_in)
    binding.bind_output(output, "cpu", 0, np.float32, [1, 10], buffer_out.ctypes.data)

    def bound(x):
        buffer_in[...] = x
        session.run_with_iobinding(binding)
        return buffer_out

    return {"run": plain, "iobinding": bound}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=Path("artifacts"))
    parser.add_argument("--data", default=None)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--per-round", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/int8_variants.json"))
    args = parser.parse_args()

    mnist = load_mnist(args.data)
    x, y = to_model_input(mnist.x_test), mnist.y_test
    calibration = to_model_input(mnist.x_train[np.random.default_rng(0).permutation(len(mnist.x_train))[:1000]])
    work = Path(tempfile.mkdtemp())
    files = variants(args.dir / "model.onnx", calibration, work)
    files["fp32"] = args.dir / "model.onnx"
    files["exported"] = args.dir / "model.int8.onnx"  # the file in --dir, as exported (with its card)

    candidates = {}
    accuracy = {}
    big_runs = {}  # plain run per variant, for the batch-1000 throughput
    for variant, path in files.items():
        for spinning in (False, True):
            for call, run in ort_runners(path, spinning).items():
                candidates[f"{variant}/{call}/{'spin' if spinning else 'nospin'}"] = run
        run = big_runs[variant] = ort_runners(path, False)["run"]
        accuracy[variant] = float(np.mean([run(x[i : i + 1]).argmax() == y[i] for i in range(len(x))]))
    candidates["exported/predictor/nospin"] = Predictor(files["exported"], threads=1).probabilities  # what users call
    tfl = tflite_models(load_keras_model(args.dir / "model.keras"), calibration)["tflite_int8"]
    candidates["tflite_int8"] = tflite_runner(tfl, 1)
    big_runs["tflite_int8"] = tflite_runner(tfl, 1000)
    tfl_run = candidates["tflite_int8"]
    accuracy["tflite_int8"] = float(np.mean([tfl_run(x[i : i + 1]).argmax() == y[i] for i in range(len(x))]))

    samples = {k: [] for k in candidates}
    for run in candidates.values():
        for _ in range(20):
            run(x[:1])
    names = list(candidates)
    for r in range(args.rounds):
        for name in names if r % 2 == 0 else names[::-1]:  # alternate the order: no runner always goes first
            run = candidates[name]
            for i in range(args.per_round):
                j = (r * args.per_round + i) % len(x)
                one = x[j : j + 1]
                t = time.perf_counter()
                run(one)
                samples[name].append(time.perf_counter() - t)
    throughput = best_throughput(big_runs, x[:1000], rounds=7)
    import onnx

    nodes = {variant: len(onnx.load(str(path)).graph.node) for variant, path in files.items()}
    base = float(np.percentile(samples["tflite_int8"], 50))
    rows = []
    for name, s in samples.items():
        p50 = float(np.percentile(s, 50))
        variant = name.split("/")[0]
        rows.append(
            {
                "name": name,
                "p50_us": round(p50 * 1e6, 1),
                "p99_us": round(float(np.percentile(s, 99)) * 1e6, 1),
                "vs_tflite_int8": round(p50 / base, 2),
                "accuracy": accuracy[variant],
                "nodes": nodes.get(variant),
                "throughput_1000_per_s": throughput[variant],
                "size_bytes": (files[variant].stat().st_size if variant in files else len(tfl)),
            }
        )
    rows.sort(key=lambda r: r["p50_us"])
    for r in rows:
        print(
            f"{r['name']:<34} p50 {r['p50_us']:>7.1f} µs  p99 {r['p99_us']:>7.1f} µs  ×tflite {r['vs_tflite_int8']:>5.2f}  acc {r['accuracy']:.2%}  {r['size_bytes'] / 1024:.0f} KiB  {r['nodes'] or '-'} nodes  {r['throughput_1000_per_s']:>9,} img/s@1000"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"command": " ".join(["python", *sys.argv]), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
