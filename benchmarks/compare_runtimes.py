"""Side by side, in one run, on one trained model and the MNIST test images:

    Keras predict, Keras direct call, TFLite fp32 and int8 (LiteRT interpreter, converted here
    from the same Keras model), onnxruntime fp32 and int8 (the exported files).

For each: batch-1 latency p50/p99 on one thread, throughput at batch 1000, file size, accuracy;
then ratios against TFLite int8 and Keras predict. Writes a JSON result.

    python benchmarks/compare_runtimes.py --dir artifacts [--out benchmarks/results.json]

Needs the train and bench extras: pip install '.[train,bench]'. The machine is shared and
noisy, so every runtime takes turns: latencies are sampled in interleaved rounds, throughput is the
best of 15 interleaved passes, and only ratios within one run are meaningful. The machine also
switches between quiet and contended spells within seconds, and TFLite's batch-1 time moves more
with them (about 10 vs 25 µs here) than onnxruntime's (about 21 vs 30 µs): run it more than once.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mnist_edge.export.convert import load_keras_model  # noqa: E402
from mnist_edge.runtime import Predictor  # noqa: E402
from mnist_edge.training.data import load_mnist, to_model_input  # noqa: E402

BIG_BATCH = 1000
THROUGHPUT_ROUNDS = 15


def tflite_models(keras_model, calibration: np.ndarray) -> dict[str, bytes]:
    """Convert the Keras model to TFLite fp32 and full-integer int8 (float input and output kept)."""
    import tempfile

    import tensorflow as tf

    saved = Path(tempfile.mkdtemp()) / "saved_model"
    keras_model.export(str(saved), format="tf_saved_model", verbose=False)
    fp32 = tf.lite.TFLiteConverter.from_saved_model(str(saved)).convert()
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([calibration[i : i + 1]] for i in range(len(calibration)))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return {"tflite_fp32": fp32, "tflite_int8": converter.convert()}


def tflite_runner(model: bytes, batch: int):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model, num_threads=1)
    input_index = interpreter.get_input_details()[0]["index"]
    if batch != 1:
        interpreter.resize_tensor_input(input_index, [batch, 784])
    interpreter.allocate_tensors()
    output_index = interpreter.get_output_details()[0]["index"]

    def run(x: np.ndarray) -> np.ndarray:
        interpreter.set_tensor(input_index, x)
        interpreter.invoke()
        return interpreter.get_tensor(output_index)

    return run


def runners(keras_model, tflite: dict[str, bytes], onnx_dir: Path) -> dict[str, dict]:
    """name → {"one": batch-1 callable, "big": batch-1000 callable, "size": bytes}."""
    import tensorflow as tf

    call = tf.function(lambda x: keras_model(x, training=False))
    keras_size = None
    out = {
        "keras_predict": {
            "one": lambda x: keras_model.predict(x, verbose=0),
            "big": lambda x: keras_model.predict(x, batch_size=BIG_BATCH, verbose=0),
        },
        "keras_call": {"one": lambda x: call(x).numpy(), "big": lambda x: call(x).numpy()},
    }
    for name, model in tflite.items():
        out[name] = {"one": tflite_runner(model, 1), "big": tflite_runner(model, BIG_BATCH), "size": len(model)}
    for name, file in (("ort_fp32", "model.onnx"), ("ort_int8", "model.int8.onnx")):
        predictor = Predictor(onnx_dir / file, threads=1)
        out[name] = {
            "one": predictor.probabilities,
            "big": predictor.probabilities,
            "size": (onnx_dir / file).stat().st_size,
        }
    keras_path = onnx_dir / "model.keras"
    if keras_path.exists():
        keras_size = keras_path.stat().st_size
    out["keras_predict"]["size"] = out["keras_call"]["size"] = keras_size
    return out


def measure(runs: dict[str, dict], x: np.ndarray, y: np.ndarray, rounds: int, per_round: int) -> dict[str, dict]:
    results = {}
    for name, r in runs.items():
        big = r["big"]
        probabilities = np.concatenate([big(x[i : i + BIG_BATCH]) for i in range(0, len(x), BIG_BATCH)])
        results[name] = {"accuracy": float((probabilities.argmax(axis=1) == y).mean()), "size_bytes": r["size"]}
        for _ in range(10):
            r["one"](x[:1])
    samples = {name: [] for name in runs}
    for round_ in range(rounds):  # interleaved so that machine noise hits every runtime alike
        for name in runs if round_ % 2 == 0 else list(runs)[::-1]:
            r = runs[name]
            count = per_round if not name.startswith("keras_predict") else max(5, per_round // 20)
            for i in range(count):
                j = (round_ * per_round + i) % len(x)
                one = x[j : j + 1]
                t = time.perf_counter()
                r["one"](one)
                samples[name].append(time.perf_counter() - t)
    throughput = best_throughput({name: r["big"] for name, r in runs.items()}, x[:BIG_BATCH], THROUGHPUT_ROUNDS)
    for name in runs:
        us = np.array(samples[name]) * 1e6
        results[name].update(
            latency_p50_us=round(float(np.percentile(us, 50)), 1),
            latency_p99_us=round(float(np.percentile(us, 99)), 1),
            throughput_per_s=throughput[name],
        )
    base, keras = results["tflite_int8"], results["keras_predict"]
    for m in results.values():
        m["p50_vs_tflite_int8"] = round(m["latency_p50_us"] / base["latency_p50_us"], 2)
        m["throughput_vs_keras_predict"] = round(m["throughput_per_s"] / keras["throughput_per_s"], 1)
    return results


def best_throughput(runs: dict[str, callable], big: np.ndarray, rounds: int) -> dict[str, int]:
    """Images/s at batch len(big): best of ``rounds`` interleaved passes (the least disturbed one)."""
    best = {name: float("inf") for name in runs}
    for run in runs.values():
        run(big)
    for round_ in range(rounds):
        for name in runs if round_ % 2 == 0 else list(runs)[::-1]:
            t = time.perf_counter()
            runs[name](big)
            best[name] = min(best[name], time.perf_counter() - t)
    return {name: round(len(big) / t) for name, t in best.items()}


def table(results: dict[str, dict]) -> str:
    header = f"{'runtime':<14} {'accuracy':>9} {'p50 µs':>9} {'p99 µs':>9} {'img/s@1000':>11} {'size KiB':>9} {'p50/tfl-int8':>13} {'thru/keras':>11}"
    lines = [header, "-" * len(header)]
    for name, m in results.items():
        size = "-" if m["size_bytes"] is None else f"{m['size_bytes'] / 1024:.0f}"
        lines.append(
            f"{name:<14} {m['accuracy']:>9.2%} {m['latency_p50_us']:>9.1f} {m['latency_p99_us']:>9.1f} "
            f"{m['throughput_per_s']:>11,} {size:>9} {m['p50_vs_tflite_int8']:>13.2f} {m['throughput_vs_keras_predict']:>11.1f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dir", type=Path, default=Path("artifacts"), help="folder with model.keras, model.onnx, model.int8.onnx"
    )
    parser.add_argument("--data", default=None, help="MNIST data (default: as mnist-edge resolves it)")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--per-round", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results.json"))
    args = parser.parse_args()

    from mnist_edge.training.keras_env import import_keras

    import_keras()
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)  # one thread for every runtime
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras_model = load_keras_model(args.dir / "model.keras")
    mnist = load_mnist(args.data)
    x, y = to_model_input(mnist.x_test), mnist.y_test
    calibration = to_model_input(mnist.x_train[np.random.default_rng(0).permutation(len(mnist.x_train))[:1000]])
    runs = runners(keras_model, tflite_models(keras_model, calibration), args.dir)
    results = measure(runs, x, y, args.rounds, args.per_round)
    print(table(results))
    report = {
        "command": " ".join(["python", *sys.argv]),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
