"""Where a 640×480 JPEG's time goes on its way to an answer, as fractions of Pillow's full decode.

    python benchmarks/picture_stages.py [--sets build/picture-sets] [--rounds 15] [--json FILE]

``picture_speed.py`` gives one figure per kind of picture; this splits the 640×480 photos' figure into
cumulative stages, each timed as a whole (so each pays what it pays inside ``predict``: cold caches
after the decode, Python's own overhead), interleaved per picture and round, best of ``--rounds``:

* ``decode``: ``decode.decode(bytes)``: the header and the half-size luminance decode (TurboJPEG with the
  ``jpeg`` extra, else Pillow);
* ``+ find``: that, then ``locate.find_strokes`` on the working image;
* ``+ crop``: ``read_digits(bytes)``: that, the row of digits, the crop and the 28×28;
* ``predict``: ``Predictor.predict(bytes)``: that, the model call, the card's rule and the record;

beside the bare model call on one normalised digit, hot. Printed: the median over the pictures of each
stage's time over the full decode, and of each stage's share (the step from the stage before).
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import picture_speed  # noqa: E402

from mnist_edge.runtime import Predictor  # noqa: E402

decode = importlib.import_module("mnist_edge.runtime.decode")  # the package re-exports a function `preprocess`
locate = importlib.import_module("mnist_edge.runtime.locate")
preprocess = importlib.import_module("mnist_edge.runtime.preprocess")

KIND = "640x480 JPEG"
STAGES = ("full decode", "decode", "+ find", "+ crop", "predict", "model (hot)")


def stage_calls(predictor: Predictor, data: bytes) -> dict:
    digit = np.zeros(784, np.float32)
    digit[300:320] = 1.0
    return {
        "full decode": lambda: Image.open(io.BytesIO(data)).load(),
        "decode": lambda: decode.decode(data),
        "+ find": lambda: locate.find_strokes(decode.decode(data).gray),
        "+ crop": lambda: preprocess.read_digits(data),
        "predict": lambda: predictor.predict(data),
        "model (hot)": lambda: predictor.probabilities(digit),
    }


def best_of(calls: dict, rounds: int) -> dict[str, float]:
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(rounds):
        for name, call in calls.items():
            t = time.perf_counter()
            call()
            best[name] = min(best[name], time.perf_counter() - t)
    return best


def main(argv=None) -> int:
    p = picture_speed.picture_options(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]))
    p.add_argument("--json", type=Path, default=None, help="also write the per-picture times here")
    a = p.parse_args(argv)
    files = picture_speed.pick_files(a.sets, a.per_kind)[KIND]
    if not files:
        print(f"no {KIND} pictures in {a.sets}", file=sys.stderr)
        return 1
    predictor = Predictor(a.model, threads=1)
    rows = [{"file": str(f), **best_of(stage_calls(predictor, f.read_bytes()), a.rounds)} for f in files]
    full = np.array([r["full decode"] for r in rows])
    print(f"{KIND}: {len(rows)} pictures, best of {a.rounds}, medians over the pictures (× Pillow's full decode)")
    print(f"{'stage':<12} {'time':>9} {'ratio':>6} {'step':>6}")
    before = None
    summary = {}
    for name in STAGES:
        t = np.array([r[name] for r in rows])
        step = "" if before is None or name == "model (hot)" else f"{np.median((t - before) / full):6.2f}"
        ratio = float(np.median(t / full))
        summary[name] = {"median_s": float(np.median(t)), "ratio": ratio}
        print(f"{name:<12} {np.median(t) * 1e3:7.3f}ms {ratio:6.2f} {step:>6}")
        before = np.zeros_like(t) if name == "full decode" else t
    if a.json:
        a.json.write_text(
            json.dumps({"kind": KIND, "rounds": a.rounds, "stages": summary, "rows": rows}, indent=1) + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
