"""The "not a digit" threshold as a trade-off: real digit pictures turned away vs non-digits caught (issue 13).

    python benchmarks/reject_tradeoff.py [--model M] [--digits build/picture-sets] [--non-digits build/non-digits]
                                         [--thresholds -0.6,-0.8,-0.93,-1.117,-1.4]

For each threshold on the negative entropy of the calibrated probabilities (the card's temperature,
and its shape rules, kept as they are), the share of the digit pictures (every picture of the
picture benchmark's sets) and of the non-digit pictures (``benchmarks/non_digit_sets.py``) that would
be answered "not a digit". A picture whose number has one rejected digit is rejected, as ``predict``
does. Generate the sets first with ``picture_sets.py`` and ``non_digit_sets.py``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mnist_edge.errors import ImageError  # noqa: E402
from mnist_edge.runtime import Predictor  # noqa: E402
from mnist_edge.runtime.preprocess import read_digits  # noqa: E402
from mnist_edge.runtime.trust import negative_entropy  # noqa: E402

PICTURES = ("*.png", "*.jpg")


def scores(predictor: Predictor, paths: list[Path]) -> list[tuple[float, bool]]:
    """(lowest negative entropy among the picture's digits, rejected by the card's shape rules) per picture."""
    trust, out = predictor.trust, []
    shape_only = dataclasses.replace(trust, threshold=None)
    for path in paths:
        try:
            found = read_digits(path)
        except ImageError:
            continue
        if not found.readings:
            out.append((-np.inf, True))
            continue
        tensors = np.stack([r.tensor for r in found.readings])
        calibrated = trust.calibrate(predictor.probabilities(tensors))
        odd = any(shape_only.rejects(p, t) for p, t in zip(calibrated, tensors, strict=True))
        out.append((float(negative_entropy(calibrated).min()), odd))
    return out


def rejected(pictures: list[tuple[float, bool]], threshold: float) -> float:
    return float(np.mean([ne < threshold or odd for ne, odd in pictures])) if pictures else float("nan")


def files(folder: Path) -> list[Path]:
    return sorted(p for pattern in PICTURES for p in folder.glob(f"*/{pattern}"))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=None, help="ONNX model with a card [default: the shipped int8]")
    p.add_argument("--digits", type=Path, default=ROOT / "build" / "picture-sets")
    p.add_argument("--non-digits", type=Path, default=ROOT / "build" / "non-digits")
    p.add_argument("--thresholds", default="-0.6,-0.8,-0.93,-1.117,-1.4")
    args = p.parse_args(argv)
    predictor = Predictor(args.model)
    digits = scores(predictor, files(args.digits))
    kinds = {
        d.name: scores(predictor, sorted(q for pattern in PICTURES for q in d.glob(pattern)))
        for d in sorted(args.non_digits.iterdir())
        if d.is_dir()
    }
    print(f"{len(digits)} digit pictures, {sum(map(len, kinds.values()))} non-digit pictures in {len(kinds)} kinds")
    print("threshold  digits rejected  non-digits rejected (mean of kinds)")
    for threshold in (float(t) for t in args.thresholds.split(",")):
        caught = np.mean([rejected(v, threshold) for v in kinds.values()])
        print(f"{threshold:9.3f}  {rejected(digits, threshold):14.2%}  {caught:18.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
