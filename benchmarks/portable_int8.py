"""The portable int8 model next to the fused int8 and the fp32 one, in each runtime that runs it.

    python benchmarks/portable_int8.py --dir mnist_edge/runtime/models [--out benchmarks/portable_int8.json]

Runtimes: onnxruntime, the ONNX reference evaluator (onnx) and OpenCV DNN (opencv-python-headless),
each used when installed (pip install '.[train,portable]'). Models: model.onnx, model.int8.onnx
(fused QGemm, onnxruntime only) and model.int8.portable.onnx from --dir. For each pair: accuracy on
the 10,000 test images, batch-1 latency p50/p99 on one thread (sampled in interleaved rounds, so
machine noise hits all alike) and images/s at batch 1000 (best of interleaved passes); then the
batch-1 ratio to the fused int8 model in onnxruntime. Only ratios within one run are meaningful.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compare_runtimes import best_throughput  # noqa: E402

from mnist_edge.contract import FP32_FILE, INT8_FILE, PORTABLE_FILE  # noqa: E402
from mnist_edge.export.runtimes import RUNTIMES, missing, runner, unsupported  # noqa: E402
from mnist_edge.training.data import load_mnist, to_model_input  # noqa: E402

BIG_BATCH = 1000
MODELS = {"fp32": FP32_FILE, "int8 fused (QGemm)": INT8_FILE, "int8 portable (QDQ)": PORTABLE_FILE}
BASELINE = "onnxruntime / int8 fused (QGemm)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("mnist_edge/runtime/models"))
    parser.add_argument("--data", default=None)
    parser.add_argument("--rounds", type=int, default=30, help="interleaved latency rounds")
    parser.add_argument("--per-round", type=int, default=50, help="batch-1 calls per model and round")
    parser.add_argument("--throughput-rounds", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/portable_int8.json"))
    args = parser.parse_args()

    mnist = load_mnist(args.data)
    x, y = to_model_input(mnist.x_test), mnist.y_test
    runs, skipped = {}, []
    for runtime in RUNTIMES:
        if reason := missing(runtime):
            skipped.append(reason)
            continue
        for label, file in MODELS.items():
            path = args.dir / file
            if not path.is_file():
                skipped.append(f"{label}: no {path}")
            elif reason := unsupported(runtime, path):
                skipped.append(f"{runtime} / {label}: {reason}")
            else:
                runs[f"{runtime} / {label}"] = (runner(runtime, path), path)

    results = {}
    for name, (run, path) in runs.items():
        probabilities = np.concatenate([run(x[i : i + BIG_BATCH]) for i in range(0, len(x), BIG_BATCH)])
        results[name] = {
            "accuracy": float((probabilities.argmax(axis=1) == y).mean()),
            "size_bytes": path.stat().st_size,
        }
        for _ in range(10):
            run(x[:1])
    samples = {name: [] for name in runs}
    for round_ in range(args.rounds):
        for name in runs if round_ % 2 == 0 else list(runs)[::-1]:
            run = runs[name][0]
            for i in range(args.per_round):
                j = (round_ * args.per_round + i) % len(x)
                one = x[j : j + 1]
                t = time.perf_counter()
                run(one)
                samples[name].append(time.perf_counter() - t)
    throughput = best_throughput({name: r[0] for name, r in runs.items()}, x[:BIG_BATCH], args.throughput_rounds)
    for name in runs:
        us = np.array(samples[name]) * 1e6
        results[name].update(
            latency_p50_us=round(float(np.percentile(us, 50)), 1),
            latency_p99_us=round(float(np.percentile(us, 99)), 1),
            throughput_per_s=throughput[name],
        )
    if BASELINE in results:
        for m in results.values():
            m["p50_vs_fused_int8_ort"] = round(m["latency_p50_us"] / results[BASELINE]["latency_p50_us"], 2)

    header = f"{'runtime / model':<42} {'accuracy':>9} {'p50 µs':>9} {'p99 µs':>9} {'× fused':>8} {'img/s@1000':>11} {'size KiB':>9}"
    print(header + "\n" + "-" * len(header))
    for name, m in results.items():
        print(
            f"{name:<42} {m['accuracy']:>9.2%} {m['latency_p50_us']:>9.1f} {m['latency_p99_us']:>9.1f} "
            f"{m.get('p50_vs_fused_int8_ort', float('nan')):>8.2f} {m['throughput_per_s']:>11,} {m['size_bytes'] / 1024:>9.0f}"
        )
    for note in skipped:
        print(f"skipped: {note}")
    args.out.write_text(
        json.dumps(
            {"results": results, "skipped": skipped, "machine": platform.platform(), "versions": versions()}, indent=2
        )
        + "\n"
    )
    print(f"wrote {args.out}")


def versions() -> dict:
    import importlib.metadata as md

    out = {}
    for package in ("numpy", "onnx", "onnxruntime", "opencv-python-headless"):
        try:
            out[package] = md.version(package)
        except md.PackageNotFoundError:
            pass
    return out


if __name__ == "__main__":
    main()
