"""Generate deterministic photo-like pictures of handwritten numbers (issue 13) from MNIST *test* digits.

    python benchmarks/number_sets.py --out build/number-sets [--per-length 100] [--lengths 2,3,4,5,6] [--seed 0]
                                     [--touching 0.2]

Every picture is a phone photo as in ``picture_sets.make_photo`` (paper tint, ruled/squared paper, table
edge, uneven light, vignetting, shadow, noise, blur, keystone, JPEG) of a row of 2–6 MNIST test digits
drawn as pen ink: each digit its own size (±15 %), the gaps varied per picture and per digit, from
overlapping (touching strokes) to more than half a digit height, a small baseline jitter, and the
whole row sloped by the scene's rotation (±5°). Writes ``number/<length>-<index>.jpg``, ``labels.json``
({"number/4-0007.jpg": "2026"}) and ``meta.json`` (the MNIST test indices, the gaps, the photo's
parameters). ``--touching``: the share of gaps that are overlaps (1.0: every digit written into its
neighbour, 0 to 0.12 heights). Same seed, same Pillow → byte-identical files. numpy + Pillow only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

import picture_sets

LENGTHS = (2, 3, 4, 5, 6)
DEFAULT_PER_LENGTH = 100
MAX_SLOPE = 5.0  # degrees: the row's slope (the scene's rotation)
TOUCHING = 0.2  # the share of gaps that are overlaps (strokes touching or nearly)


def number_ink(
    digits28: list[np.ndarray], height: int, rng: np.random.Generator, params: dict, room, touching_share=TOUCHING
) -> np.ndarray:
    """Alpha mask of the digits written in a row, digits about ``height`` px tall, within ``room`` (w, h)."""
    base_gap = float(rng.uniform(0.0, 0.45))
    alphas, gaps, shifts = [], [], []
    for i, img28 in enumerate(digits28):
        h = max(8, round(height * float(rng.uniform(0.85, 1.15))))
        alphas.append(picture_sets.ink_alpha(img28, h, rng, {}))
        shifts.append(float(rng.uniform(-0.06, 0.06)) * height)
        if i:
            touching = rng.random() < touching_share
            gap = float(rng.uniform(-0.12, 0.0)) if touching else base_gap + float(rng.uniform(-0.1, 0.15))
            gaps.append(round(max(gap, -0.12) * height))
    width = sum(a.shape[1] for a in alphas) + sum(gaps)
    top = max(round(height * 0.1), 2)
    rows = max(a.shape[0] for a in alphas) + 2 * top
    canvas = np.zeros((rows, max(width, 1) + 4), np.float32)
    x = 2
    for i, a in enumerate(alphas):
        y = int(np.clip(round((rows - a.shape[0]) / 2 + shifts[i]), 0, rows - a.shape[0]))
        region = canvas[y : y + a.shape[0], x : x + a.shape[1]]
        np.maximum(region, a[:, : region.shape[1]], out=region)
        x += a.shape[1] + (gaps[i] if i < len(gaps) else 0)
    fit = min(1.0, room[0] / canvas.shape[1], room[1] / canvas.shape[0])
    if fit < 1.0:
        size = (max(1, round(canvas.shape[1] * fit)), max(1, round(canvas.shape[0] * fit)))
        canvas = np.asarray(Image.fromarray(canvas, mode="F").resize(size, Image.BILINEAR), np.float32)
    params.update(number_gaps=[round(g / height, 3) for g in gaps], number_scale=round(fit, 3))
    return np.clip(canvas, 0, 1)


def make_number(digits28: list[np.ndarray], rng: np.random.Generator, touching_share: float = TOUCHING):
    """A phone photo of a handwritten number: (RGB image, box, format, JPEG quality, params)."""

    def ink(height, rng_, params, room):
        return number_ink(digits28, height, rng_, params, room, touching_share)

    return picture_sets.make_photo(digits28[0], rng, ink_fn=ink, max_angle=MAX_SLOPE)


def generate(
    out: Path, per_length: int = DEFAULT_PER_LENGTH, lengths=LENGTHS, seed: int = 0, data=None, touching=TOUCHING
) -> dict:
    """Write ``out/number/*.jpg``, ``labels.json`` and ``meta.json``; return the labels."""
    out = Path(out)
    (out / "number").mkdir(parents=True, exist_ok=True)
    x_test, y_test = picture_sets.load_test_set(data)
    labels: dict[str, str] = {}
    meta: dict[str, dict] = {}
    for n in lengths:
        t0 = time.perf_counter()
        for i in range(per_length):
            rng = np.random.default_rng([seed, 13, n, i])
            indices = [int(v) for v in rng.choice(len(x_test), n, replace=False)]
            img, box, fmt, quality, params = make_number([x_test[j] for j in indices], rng, touching)
            rel = f"number/{n}-{i:04d}.{fmt}"
            (out / rel).write_bytes(picture_sets.encode(img, fmt, quality))
            labels[rel] = "".join(str(int(y_test[j])) for j in indices)
            meta[rel] = {"size": [img.width, img.height], "box": box, "mnist_test_indices": indices, "params": params}
        print(f"{n} digits  {per_length:4d} pictures  {time.perf_counter() - t0:6.1f} s", flush=True)
    for name, value in (("labels.json", labels), ("meta.json", meta)):
        tmp = out / (name + ".tmp")
        tmp.write_text(json.dumps(value, indent=1, sort_keys=True) + "\n")
        tmp.replace(out / name)
    return labels


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--per-length", type=int, default=DEFAULT_PER_LENGTH)
    p.add_argument("--lengths", default=",".join(map(str, LENGTHS)), help="comma-separated digit counts")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=None, help="MNIST data (default: $MNIST_EDGE_DATA, as mnist-edge train)")
    p.add_argument("--touching", type=float, default=TOUCHING, help="share of gaps that are overlaps (0–1)")
    args = p.parse_args(argv)
    lengths = [int(v) for v in args.lengths.split(",")]
    generate(args.out, args.per_length, lengths, args.seed, args.data, args.touching)
    return 0


if __name__ == "__main__":
    sys.exit(main())
