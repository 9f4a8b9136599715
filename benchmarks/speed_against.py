"""This tree's ``Predictor.predict`` against another revision's, interleaved in one process.

    python benchmarks/speed_against.py [--ref REV] [--sets build/picture-sets] [--rounds 10]
    python benchmarks/speed_against.py --numbers build/number-final [--every 4] [--rounds 3]

``picture_speed.py`` run twice, once per revision, compares two runs made minutes apart on a machine
whose load moves within seconds. Here both revisions load in the same process (the other one's
``mnist_edge/`` is extracted with ``git archive`` as the package ``mnist_edge_ref``: the runtime's own
imports are relative), and per picture each round times three calls of each, alternating which goes
first, beside Pillow's full decode and the bare model call. Printed per kind (the 28 px PNGs and
640×480 JPEGs of ``picture_speed.py``; with ``--numbers``, every ``--every``-th picture of a number
set of ``number_sets.py`` instead): the median of per-picture bests and of their ratios, the
revisions' ratios to decode (+ model for PNGs) as ``picture_speed.py`` reports them, and this tree's
time over the other's.
"""

from __future__ import annotations

import argparse
import importlib
import io
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import picture_speed  # noqa: E402
from same_answers import _git, export_ref  # noqa: E402

from mnist_edge.runtime import Predictor  # noqa: E402


def load_ref(ref: str, into: Path):
    """The ``mnist_edge.runtime`` of ``ref``, imported as ``mnist_edge_ref.runtime``."""
    export_ref(ref, into)
    shutil.move(into / "mnist_edge", into / "mnist_edge_ref")
    sys.path.insert(0, str(into))
    return importlib.import_module("mnist_edge_ref.runtime")


def best_times(calls: dict, rounds: int) -> dict[str, float]:
    times = {name: [] for name in calls}
    for i in range(rounds):
        order = ["this", "ref"] if i % 2 else ["ref", "this"]
        for name in [*order, "decode", "model"]:
            for _ in range(3):
                t = time.perf_counter()
                calls[name]()
                times[name].append(time.perf_counter() - t)
    return {name: min(v) for name, v in times.items()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ref", help="the other revision (default: where this branch left main)")
    p.add_argument("--sets", type=Path, default=ROOT / "build" / "picture-sets")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--per-kind", type=int, default=20)
    p.add_argument("--numbers", type=Path, help="a number set (number_sets.py) to time instead of the picture kinds")
    p.add_argument("--every", type=int, default=4, help="with --numbers: every Nth picture")
    a = p.parse_args(argv)
    ref = a.ref or _git("merge-base", "HEAD", "main")
    if a.numbers:
        kinds = {"number photo": sorted((a.numbers / "number").iterdir())[:: a.every]}
    else:
        kinds = picture_speed.pick_files(a.sets, a.per_kind)
    digit = np.zeros(784, np.float32)
    digit[300:320] = 1.0
    with tempfile.TemporaryDirectory() as tmp:
        old = load_ref(ref, Path(tmp)).Predictor(threads=1)
        new = Predictor(threads=1)
        print(f"this tree against {ref[:12]}, {a.rounds} rounds × 3 calls, best per picture, medians")
        for kind in kinds:
            rows = []
            for path in kinds[kind]:
                data = path.read_bytes()
                calls = {
                    "this": lambda data=data: new.predict(data),
                    "ref": lambda data=data: old.predict(data),
                    "decode": lambda data=data: Image.open(io.BytesIO(data)).load(),
                    "model": lambda: new.probabilities(digit),
                }
                rows.append(best_times(calls, a.rounds))
            base = np.array([r["decode"] + (r["model"] if kind == "28 px PNG" else 0) for r in rows])
            this, other = np.array([r["this"] for r in rows]), np.array([r["ref"] for r in rows])
            print(
                f"{kind:<13} ref {np.median(other) * 1e6:7.1f} µs ({np.median(other / base):.2f}×)   "
                f"this {np.median(this) * 1e6:7.1f} µs ({np.median(this / base):.2f}×)   "
                f"this/ref {np.median(this / other):.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
