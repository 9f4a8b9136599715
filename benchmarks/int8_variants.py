"""Which int8 ONNX recipe and which onnxruntime call path are fastest at batch 1? Measured against TFLite int8.

    python benchmarks/int8_variants.py --dir artifacts [--out benchmarks/int8_variants.json]

Builds quantized variants of artifacts/model.onnx (format QOperator/QDQ, u8/s8 activations,
per-channel or per-tensor weights, dynamic; with and without ORT's MatMul+Add→Gemm fusion before
quantization; weight-only MatMulNBits 8/4-bit), runs each through several call paths (plain run,
pre-bound I/O), and samples all of them and TFLite int8 in interleaved rounds. Accuracy on the
10,000 test images is reported for each variant. Needs pip install '.[train,bench]'.
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

from compare_runtimes import tflite_models, tflite_runner  # noqa: E402

from mnist_edge.data import load_mnist, to_model_input  # noqa: E402
from mnist_edge.export import _CalibrationReader, load_keras_model  # noqa: E402


def variants(fp32: Path, calibration: np.ndarray, work: Path) -> dict[str, Path]:
    import onnxruntime as ort
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static

    fused = work / "fused.onnx"  # let ORT fuse MatMul+Add into Gemm first, so quantization makes QGemm
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(fused)
    ort.InferenceSession(str(fp32), options, providers=["CPUExecutionProvider"])

    out = {}
    recipes = {
        "qop_u8s8_pc": (QuantFormat.QOperator, QuantType.QUInt8, True, fp32),
        "qop_s8s8_pc": (QuantFormat.QOperator, QuantType.QInt8, True, fp32),
        "qop_u8s8_pt": (QuantFormat.QOperator, QuantType.QUInt8, False, fp32),
        "qdq_u8s8_pc": (QuantFormat.QDQ, QuantType.QUInt8, True, fp32),
        "qdq_s8s8_pc": (QuantFormat.QDQ, QuantType.QInt8, True, fp32),
        "gemm_qop_u8s8_pc": (QuantFormat.QOperator, QuantType.QUInt8, True, fused),
        "gemm_qop_u8s8_pt": (QuantFormat.QOperator, QuantType.QUInt8, False, fused),
        "gemm_qdq_u8s8_pc": (QuantFormat.QDQ, QuantType.QUInt8, True, fused),
    }
    for name, (fmt, activations, per_channel, source) in recipes.items():
        path = work / f"{name}.onnx"
        quantize_static(
            str(source), str(path), _CalibrationReader(calibration), quant_format=fmt,
            activation_type=activations, weight_type=QuantType.QInt8, per_channel=per_channel,
            op_types_to_quantize=["MatMul", "Add", "Gemm", "Relu"],
        )
        out[name] = path
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
        config = DefaultWeightOnlyQuantConfig(block_size=128, is_symmetric=True, accuracy_level=4, bits=bits)
        quantizer = MatMulNBitsQuantizer(onnx.load(str(fp32)), algo_config=config)
        quantizer.process()
        path = work / f"weightonly_{bits}bit.onnx"
        onnx.save(quantizer.model.model, str(path))
        out[f"weightonly_{bits}bit"] = path
    return out


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

    candidates = {}
    accuracy = {}
    for variant, path in files.items():
        for spinning in (False, True):
            for call, run in ort_runners(path, spinning).items():
                candidates[f"{variant}/{call}/{'spin' if spinning else 'nospin'}"] = run
        run = ort_runners(path, False)["run"]
        accuracy[variant] = float(np.mean([run(x[i : i + 1]).argmax() == y[i] for i in range(len(x))]))
    keras_model = load_keras_model(args.dir / "model.keras")
    tfl = tflite_models(keras_model, calibration)["tflite_int8"]
    candidates["tflite_int8"] = tflite_runner(tfl, 1)
    tfl_run = candidates["tflite_int8"]
    accuracy["tflite_int8"] = float(np.mean([tfl_run(x[i : i + 1]).argmax() == y[i] for i in range(len(x))]))

    samples = {k: [] for k in candidates}
    for run in candidates.values():
        for _ in range(20):
            run(x[:1])
    for r in range(args.rounds):
        for name, run in candidates.items():
            for i in range(args.per_round):
                j = (r * args.per_round + i) % len(x)
                one = x[j : j + 1]
                t = time.perf_counter()
                run(one)
                samples[name].append(time.perf_counter() - t)
    base = float(np.percentile(samples["tflite_int8"], 50))
    rows = []
    for name, s in samples.items():
        p50 = float(np.percentile(s, 50))
        variant = name.split("/")[0]
        rows.append({"name": name, "p50_us": round(p50 * 1e6, 1), "p99_us": round(float(np.percentile(s, 99)) * 1e6, 1),
                     "vs_tflite_int8": round(p50 / base, 2), "accuracy": accuracy[variant],
                     "size_bytes": (files[variant].stat().st_size if variant in files else len(tfl))})
    rows.sort(key=lambda r: r["p50_us"])
    for r in rows:
        print(f"{r['name']:<34} p50 {r['p50_us']:>7.1f} µs  p99 {r['p99_us']:>7.1f} µs  ×tflite {r['vs_tflite_int8']:>5.2f}  acc {r['accuracy']:.2%}  {r['size_bytes'] / 1024:.0f} KiB")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"command": " ".join(["python", *sys.argv]), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
