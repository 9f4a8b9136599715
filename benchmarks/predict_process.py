"""Wall time and peak memory of `mnist-edge predict one.png` as a whole process (target: ≤ 0.4 s, ≤ 120 MiB).

    python benchmarks/predict_process.py [--runs 10] [--image examples/digits/...png] [--model FILE]

For reference it also times a process that only imports TensorFlow, which any TensorFlow-based
predict path pays before it starts. Each figure is the median wall time and the largest peak RSS
over the runs; every command runs in its own child process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(command: list[str], runs: int) -> dict:
    walls, peaks = [], []
    for _ in range(runs):
        start = time.perf_counter()
        # a fresh wait4 per child gives that child's own peak RSS (KiB on Linux)
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        walls.append(time.perf_counter() - start)
        peaks.append(usage.ru_maxrss / 1024)
        if status != 0:
            raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read().decode()}")
    return {
        "wall_s_median": round(statistics.median(walls), 3),
        "wall_s_min": round(min(walls), 3),
        "peak_rss_mib_max": round(max(peaks), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--image", type=Path, default=ROOT / "examples/digits/mnist_test_00000_label_7.png")
    parser.add_argument("--model", type=Path, default=None, help="default: what mnist-edge predict picks")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    args = parser.parse_args()

    predict = [sys.executable, "-m", "mnist_edge", "predict", str(args.image)]
    if args.model:
        predict += ["--model", str(args.model)]
    results = {
        "mnist-edge predict": measure(predict, args.runs),
        "python -c 'import tensorflow'": measure([sys.executable, "-c", "import tensorflow"], max(3, args.runs // 3)),
    }
    for name, r in results.items():
        print(
            f"{name:<32} median {r['wall_s_median']:.3f} s  min {r['wall_s_min']:.3f} s  peak RSS {r['peak_rss_mib_max']:.0f} MiB"
        )
    if args.out:
        args.out.write_text(
            json.dumps({"command": " ".join(["python", *sys.argv]), "results": results}, indent=2) + "\n"
        )


if __name__ == "__main__":
    main()
