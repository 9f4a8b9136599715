"""How well digits written close, touching or into each other are read (issue 13).

    python benchmarks/touching_digits.py [--seeds 0,1] [--json FILE]

Digits of the repository's MNIST test sample (``tests/data/mnist-sample``, those the model reads right
from their clean 28×28) are written in a row on clean paper, 80 px tall (``photo_like.row_picture``),
with a gap in digit heights between neighbours (negative: written into each other):

- pairs: every two labels but 1s, two samples of each (324 pictures per gap);
- numbers: 150 numbers of 2–6 digits per seed, each gap jittered by ±0.02 heights.

Prints how many are read exactly, per gap. A probe of the segmentation on heavy, clean strokes; the
photo-like number sets (``number_sets.py --touching``) measure the same on photos.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mnist_edge.photo_like import row_picture  # noqa: E402
from mnist_edge.runtime import Predictor  # noqa: E402
from mnist_edge.training.data import load_path  # noqa: E402

SAMPLE = ROOT / "tests" / "data" / "mnist-sample"
PAIR_GAPS = (-0.1, -0.05, -0.02, 0.0, 0.05)
NUMBER_GAPS = (-0.05, -0.02, 0.0, 0.05)
NUMBERS = 150


def read_right(predictor: Predictor, x: np.ndarray, y: np.ndarray) -> dict[int, list[int]]:
    """{label: indices} of the digits the model reads right from their clean 28×28."""
    predicted = predictor.probabilities(x.reshape(len(x), -1) / np.float32(255)).argmax(axis=1)
    out: dict[int, list[int]] = {}
    for i, (p, label) in enumerate(zip(predicted, y, strict=True)):
        if p == label:
            out.setdefault(int(label), []).append(i)
    return out


def pairs(predictor: Predictor, x: np.ndarray, right: dict[int, list[int]]) -> dict[float, int]:
    """Pairs read right per gap: every two labels but 1s, the first two samples of each."""
    counts = dict.fromkeys(PAIR_GAPS, 0)
    labels = [d for d in range(10) if d != 1 and d in right]
    for a in labels:
        for b in labels:
            for ia in right[a][:2]:
                for ib in right[b][:2]:
                    for gap in PAIR_GAPS:
                        data, _ = row_picture([x[ia], x[ib]], [gap])
                        counts[gap] += predictor.predict(data).digits == f"{a}{b}"
    return counts


def numbers(predictor: Predictor, x: np.ndarray, right: dict[int, list[int]], seed: int) -> dict[float, int]:
    """Numbers of 2–6 digits read right per gap (the same digits at every gap)."""
    rng = np.random.default_rng(seed)
    counts = dict.fromkeys(NUMBER_GAPS, 0)
    for _ in range(NUMBERS):
        length = int(rng.integers(2, 7))
        labels = [int(rng.integers(0, 10)) for _ in range(length)]
        indices = [right[d][int(rng.integers(0, len(right[d])))] for d in labels]
        for gap in NUMBER_GAPS:
            gaps = [gap + float(rng.uniform(-0.02, 0.02)) for _ in range(length - 1)]
            data, _ = row_picture([x[i] for i in indices], gaps)
            counts[gap] += predictor.predict(data).digits == "".join(map(str, labels))
    return counts


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", default="0,1", help="comma-separated seeds of the numbers")
    p.add_argument("--json", type=Path, default=None, help="also write the counts here")
    args = p.parse_args(argv)
    sample = load_path(SAMPLE)
    predictor = Predictor()
    right = read_right(predictor, sample.x_test, sample.y_test)
    report = {"pairs": pairs(predictor, sample.x_test, right)}
    print("pairs (324 per gap)   " + "   ".join(f"{g:+.2f}: {n}" for g, n in report["pairs"].items()), flush=True)
    for seed in (int(s) for s in args.seeds.split(",")):
        report[f"numbers seed {seed}"] = counts = numbers(predictor, sample.x_test, right, seed)
        print(f"numbers, seed {seed} ({NUMBERS} per gap)   " + "   ".join(f"{g:+.2f}: {n}" for g, n in counts.items()))
    if args.json:
        args.json.write_text(
            json.dumps({k: {str(g): n for g, n in v.items()} for k, v in report.items()}, indent=1) + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
