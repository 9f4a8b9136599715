"""How fast a picture becomes an answer, as ratios to Pillow's decode and the bare model call (issue 12).

    python benchmarks/picture_speed.py [--sets build/picture-sets] [--model M] [--rounds 15]

One thread, one process, everything interleaved in one run (the machine is shared and noisy, so
only ratios measured side by side mean anything). For each kind of picture it times, per file,
the best of ``--rounds`` runs of:

* Pillow's full decode of the file's bytes (``Image.open(...).load()``, the picture's own mode);
* the bare model call on one already-normalised digit (``Predictor.probabilities``);
* end to end: ``Predictor.predict(bytes)`` (decode at the needed scale, find, normalise, model);

then prints the median ratio per kind next to its target, and the peak resident memory of
``mnist-edge predict`` over 60 12 MP photos in a child process. Pictures come from
``benchmarks/picture_sets.py`` (generated when missing): 28 px PNGs (``mnist_png``), 640×480 and
12 MP JPEG photos (``photo``).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mnist_edge.runtime import Predictor, shipped_model_path  # noqa: E402

TARGETS = {  # kind: (ratio, what it is a ratio to)
    "28 px PNG": (2.5, "Pillow decode + one model call"),
    "640x480 JPEG": (1.0, "Pillow full decode"),
    "12 MP JPEG": (0.8, "Pillow full decode"),
}
MEMORY_TARGET_MB = 150


def best_of(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def pick_files(sets: Path, per_kind: int) -> dict[str, list[Path]]:
    if not (sets / "meta.json").is_file():
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "benchmarks" / "picture_sets.py"),
                "--out",
                str(sets),
                "--sets",
                "photo,mnist_png",
            ],
            check=True,
        )
    meta = json.loads((sets / "meta.json").read_text())
    kinds: dict[str, list[Path]] = {kind: [] for kind in TARGETS}
    for rel, info in sorted(meta.items()):
        size = tuple(info["size"])
        if info["condition"] == "mnist_png":
            kind = "28 px PNG"
        elif info["condition"] == "photo" and rel.endswith(".jpg") and max(size) == 640 and min(size) == 480:
            kind = "640x480 JPEG"
        elif info["condition"] == "photo" and rel.endswith(".jpg") and max(size) * min(size) >= 11_000_000:
            kind = "12 MP JPEG"
        else:
            continue
        if len(kinds[kind]) < per_kind:
            kinds[kind].append(sets / rel)
    return kinds


def measure(predictor: Predictor, files: list[Path], rounds: int) -> list[dict]:
    rows = []
    digit = np.zeros(784, np.float32)
    digit[300:320] = 1.0
    for path in files:
        data = path.read_bytes()

        def decode(data=data):
            Image.open(io.BytesIO(data)).load()

        def model():
            predictor.probabilities(digit)

        def end_to_end(data=data):
            predictor.predict(data)

        n = max(2, rounds // 5) if len(data) > 1_000_000 else rounds
        t_decode, t_model, t_all = (best_of(f, n) for f in (decode, model, end_to_end))
        rows.append({"file": str(path), "decode_s": t_decode, "model_s": t_model, "end_to_end_s": t_all})
    return rows


_MEASURED_PREDICT = """
import resource, sys
from mnist_edge.cli import main
try:
    main()
finally:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def peak_memory_mb(files: list[Path], model: Path) -> float:
    """Peak RSS of `mnist-edge predict` over these files, as the child process itself reports it."""
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(
            [sys.executable, "-c", _MEASURED_PREDICT, "predict", "--json", "--model", str(model), *map(str, files)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    return int(result.stderr.strip().splitlines()[-1]) / 1024


def picture_options(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options every picture-timing script takes: which pictures, which model, how many rounds."""
    p.add_argument("--sets", type=Path, default=ROOT / "build" / "picture-sets")
    p.add_argument("--model", type=Path, default=shipped_model_path())
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--per-kind", type=int, default=20)
    return p


def main(argv=None) -> int:
    p = picture_options(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]))
    p.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "picture_speed.json")
    a = p.parse_args(argv)
    kinds = pick_files(a.sets, a.per_kind)
    results = {}
    # memory first, while this process is small: Linux counts a forked child's copy of its parent
    # in the child's peak RSS, so a parent that has just decoded 12 MP photos would inflate it
    big = kinds.get("12 MP JPEG", [])
    if big:
        files = (big * (60 // len(big) + 1))[:60]
        mb = peak_memory_mb(files, a.model)
        results["memory"] = {"peak_rss_mb": mb, "target_mb": MEMORY_TARGET_MB, "pictures": len(files)}
        ok = "✓" if mb <= MEMORY_TARGET_MB else "✗"
        print(f"peak RSS of mnist-edge predict over 60 12 MP photos: {mb:.0f} MB {ok} ≤{MEMORY_TARGET_MB} MB")
    predictor = Predictor(a.model, threads=1)
    print(
        f"{'pictures':<14} {'n':>3} {'decode':>9} {'model':>8} {'end to end':>11} {'ratio':>6} {'target':>7}  ratio to"
    )
    for kind, files in kinds.items():
        if not files:
            print(f"{kind:<14} no pictures of this kind in {a.sets}")
            continue
        rows = measure(predictor, files, a.rounds)
        target, basis = TARGETS[kind]
        if kind == "28 px PNG":
            ratios = [r["end_to_end_s"] / (r["decode_s"] + r["model_s"]) for r in rows]
        else:
            ratios = [r["end_to_end_s"] / r["decode_s"] for r in rows]
        med = {k: float(np.median([r[k] for r in rows])) for k in ("decode_s", "model_s", "end_to_end_s")}
        ratio = float(np.median(ratios))
        results[kind] = {**med, "ratio": ratio, "target": target, "basis": basis, "n": len(rows), "rows": rows}
        ok = "✓" if ratio <= target else "✗"
        print(
            f"{kind:<14} {len(rows):>3} {med['decode_s'] * 1e3:>7.2f}ms {med['model_s'] * 1e6:>6.1f}µs "
            f"{med['end_to_end_s'] * 1e3:>9.2f}ms {ratio:>6.2f} {ok} ≤{target:<4}  {basis}"
        )
    a.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
