"""Prove a runtime change kept every answer: this tree's predictions against another git revision's.

    python benchmarks/same_answers.py [--ref REV] [--sets build/picture-sets] [--sets build/non-digits] ...

For the checked-out code and for the code of ``--ref`` (``git archive`` of its ``mnist_edge/`` into a
temporary folder, run in a child process), every picture in every ``--sets`` folder (the pictures its
``meta.json`` lists) goes through ``read_digits`` and ``Predictor.predict`` with the shipped int8 model.
The two runs must agree exactly on each prediction's label, digits, reason and boxes (of the picture and
of each digit), and within ``--tolerance`` on every 28×28 tensor and every probability. Exit 0 when they
do, 1 (with the first differences listed) when not. Speed work on the runtime must leave this at 0.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SETS = [ROOT / "build" / "picture-sets"]


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def pictures(sets: list[Path]) -> list[Path]:
    """The pictures ``meta.json`` lists in each folder, or (a folder without one) every image file in it."""
    files = []
    for folder in sets:
        if (folder / "meta.json").is_file():
            meta = json.loads((folder / "meta.json").read_text())
            files += [folder / rel for rel in sorted(meta)]
        else:
            files += sorted(f for f in folder.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file())
    return files


def dump(files: list[Path], out: Path) -> None:
    """Every picture's digits (tensors, boxes) and prediction record, into ``out`` (npz + json beside)."""
    from mnist_edge.runtime import Predictor, read_digits
    from mnist_edge.runtime.records import prediction_record

    predictor = Predictor(threads=1)
    tensors, records = {}, []
    for i, path in enumerate(files):
        try:
            found = read_digits(path)
            for j, reading in enumerate(found.readings):
                tensors[f"{i}_{j}"] = reading.tensor
            record = prediction_record(str(path), predictor.predict(path))
            record["reading_boxes"] = [list(r.box) for r in found.readings]
        except Exception as e:  # an unreadable picture must stay unreadable, with the same reason
            record = {"path": str(path), "error": f"{type(e).__name__}: {e}"}
        records.append(record)
    np.savez(out, **tensors)
    out.with_suffix(".json").write_text(json.dumps(records))


def run_dump(code: Path, files: list[Path], out: Path) -> None:
    list_file = out.with_suffix(".list")
    list_file.write_text("\n".join(map(str, files)))
    env = {**os.environ, "PYTHONPATH": str(code)}
    subprocess.run([sys.executable, __file__, "--dump", str(out), "--files", str(list_file)], check=True, env=env)


def export_ref(ref: str, into: Path) -> None:
    archive = into / "ref.tar"
    with archive.open("wb") as f:
        subprocess.run(["git", "-C", str(ROOT), "archive", ref, "mnist_edge"], stdout=f, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True).stdout.strip()


def compare(old: Path, new: Path, tolerance: float) -> list[str]:
    problems = []
    old_records = json.loads(old.with_suffix(".json").read_text())
    new_records = json.loads(new.with_suffix(".json").read_text())
    old_t, new_t = np.load(old), np.load(new)
    if set(old_t.files) != set(new_t.files):
        problems.append(f"different digits read: {sorted(set(old_t.files) ^ set(new_t.files))[:10]}")
    for key in sorted(set(old_t.files) & set(new_t.files)):
        diff = float(np.abs(old_t[key].astype(np.float64) - new_t[key]).max())
        if diff > tolerance:
            i = int(key.split("_")[0])
            problems.append(f"{old_records[i]['path']}: tensor {key} differs by {diff:.2e}")
    for a, b in zip(old_records, new_records, strict=True):
        pa, pb = _probabilities(a), _probabilities(b)
        if _exact(a) != _exact(b):
            problems.append(f"{a['path']}: record differs: {_exact(a)} → {_exact(b)}")
        elif len(pa) != len(pb) or (pa and float(np.abs(np.array(pa) - np.array(pb)).max()) > tolerance):
            problems.append(f"{a['path']}: probabilities differ beyond {tolerance}")
    return problems


def _exact(record: dict) -> dict:
    """The record without its probabilities and confidences (compared within the tolerance instead)."""
    keep = {k: v for k, v in record.items() if k not in ("probabilities", "confidence", "readings")}
    keep["readings"] = [{k: v for k, v in r.items() if k in ("label", "box")} for r in record.get("readings", [])]
    return keep


def _probabilities(record: dict) -> list[float]:
    values = list(record.get("probabilities") or [])
    for r in record.get("readings", []):
        values += list(r["probabilities"]) + [r["confidence"]]
    return values + ([record["confidence"]] if record.get("confidence") is not None else [])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ref", help="the git revision whose answers must be kept (default: where this branch left main)")
    p.add_argument("--sets", type=Path, action="append", help="a folder with meta.json, or of image files (repeatable)")
    p.add_argument("--tolerance", type=float, default=1e-6)
    p.add_argument("--dump", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--files", type=Path, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.dump:
        dump([Path(line) for line in a.files.read_text().splitlines()], a.dump)
        return 0
    files = pictures(a.sets or DEFAULT_SETS)
    ref = a.ref or _git("merge-base", "HEAD", "main")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        export_ref(ref, tmp)
        run_dump(tmp, files, tmp / "old.npz")
        run_dump(ROOT, files, tmp / "new.npz")
        problems = compare(tmp / "old.npz", tmp / "new.npz", a.tolerance)
    for line in problems[:20]:
        print(line)
    verdict = "differ" if problems else "agree"
    print(f"{len(files)} pictures: {ref[:12]} and this tree {verdict} ({len(problems)} differences)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
