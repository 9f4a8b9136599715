"""Digits in pictures the picture sets do not draw: a few pixels a side, enlarged block by block, inside a
box, a form's row of boxes or a circle, white ink on a transparent canvas, a seven-segment display,
cropped tight (the digit fills the picture), underlined. How many are read right.

    python benchmarks/other_pictures.py [--per-kind 200] [--seed 0] [--data DIR] [--optdigits FILE]

Every picture is built from MNIST *test* digits (seeded, the same pictures on every run) and read by
``Predictor.predict`` from its encoded bytes; a number in a row of boxes counts only when the whole
string is right. ``--optdigits`` also scores real handwriting from 43 other writers: the 1,797 8×8
digits of the UCI "optdigits" set (scikit-learn's ``sklearn/datasets/data/digits.csv.gz``), at their
own 8×8 and enlarged ×16 block by block.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mnist_edge import photo_like  # noqa: E402
from mnist_edge.runtime import Predictor  # noqa: E402
from mnist_edge.training.data import load_mnist  # noqa: E402

PAPER, INK, CELL = 235, 30, 90


def encoded(picture: Image.Image | np.ndarray, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    (picture if isinstance(picture, Image.Image) else Image.fromarray(picture)).save(out, fmt, quality=88)
    return out.getvalue()


def tiny(digit: np.ndarray, side: int) -> np.ndarray:
    """Dark on white, area-averaged to side × side (what a scanner at a few dots per digit gives)."""
    return cv2.resize(255 - digit, (side, side), interpolation=cv2.INTER_AREA)


def blocky(gray: np.ndarray, k: int = 16) -> np.ndarray:
    return np.repeat(np.repeat(gray, k, axis=0), k, axis=1)


def on_paper(digits, rng: np.random.Generator, frame: str) -> bytes:
    """Digits written side by side on paper, in a box per digit (``box``: one, ``comb``: a row) or a circle."""
    canvas = np.full((360, 640), PAPER, np.float32)
    x0, y0 = int(rng.integers(60, 640 - 60 - len(digits) * CELL)), int(rng.integers(40, 220))
    for k, digit in enumerate(digits):
        ink = cv2.resize(digit, (84, 84), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
        x, y = x0 + k * CELL + 3, y0 + 3
        canvas[y : y + 84, x : x + 84] = canvas[y : y + 84, x : x + 84] * (1 - ink) + INK * ink
    picture = Image.fromarray(canvas.astype(np.uint8))
    draw = ImageDraw.Draw(picture)
    x1, y1 = x0 + len(digits) * CELL + 2, y0 + CELL + 2
    if frame == "circle":
        draw.ellipse([x0 - 12, y0 - 12, x1 + 10, y1 + 10], outline=INK, width=3)
    else:
        draw.rectangle([x0 - 4, y0 - 4, x1, y1], outline=60, width=2)
        for k in range(1, len(digits)):
            draw.line([x0 + k * CELL - 2, y0 - 4, x0 + k * CELL - 2, y1], fill=60, width=2)
    return encoded(picture.filter(ImageFilter.GaussianBlur(0.7)), "JPEG")


def underlined(
    digit: np.ndarray, rng: np.random.Generator, gap: tuple[float, float], reach: tuple[float, float]
) -> bytes:
    """A digit on paper with a line drawn under it: ``gap`` (of the digit's height: negative, touching) and
    ``reach`` (of its width, beyond it on each side) drawn from their ranges, a pen 3–6 px, tilted ±4°."""
    canvas = np.full((360, 640), PAPER, np.float32)
    ink = cv2.resize(digit, (84, 84), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
    x, y = int(rng.integers(80, 640 - 160)), int(rng.integers(40, 200))
    canvas[y : y + 84, x : x + 84] = canvas[y : y + 84, x : x + 84] * (1 - ink) + INK * ink
    rows, cols = np.flatnonzero((ink > 0.3).any(axis=1)), np.flatnonzero((ink > 0.3).any(axis=0))
    height, width = rows[-1] - rows[0], cols[-1] - cols[0]
    pen = int(rng.integers(3, 7))
    level = y + rows[-1] + rng.uniform(*gap) * height + pen / 2
    half = (0.5 + rng.uniform(*reach)) * width
    centre = x + (cols[0] + cols[-1]) / 2 + rng.uniform(-0.1, 0.1) * width
    rise = half * np.tan(np.deg2rad(rng.uniform(-4, 4)))
    picture = Image.fromarray(canvas.astype(np.uint8))
    ImageDraw.Draw(picture).line([(centre - half, level - rise), (centre + half, level + rise)], fill=INK, width=pen)
    return encoded(picture.filter(ImageFilter.GaussianBlur(0.7)), "JPEG")


def transparent(digit: np.ndarray) -> bytes:
    """White strokes on a transparent 280×280 canvas, as a drawing pad for a dark page saves them."""
    alpha = np.asarray(Image.fromarray(digit).resize((280, 280), Image.BILINEAR))
    return encoded(np.dstack([np.full_like(alpha, 255)] * 3 + [alpha]))


def seven_segment(digit: int, rng: np.random.Generator) -> bytes:
    """A digit of a seven-segment display (a meter, a clock): bars with gaps at the joints, some slant,
    dark on light paper or on an LCD's grey, slightly blurred (``photo_like.seven_segment``)."""
    w, h = int(rng.integers(40, 80)), int(rng.integers(80, 140))
    thick, gap, slant = int(rng.integers(6, 16)), int(rng.integers(1, 5)), float(rng.uniform(0, 0.2))
    paper, ink = (205, 60) if rng.random() < 0.5 else (235, 30)  # an LCD's grey, or paper
    return encoded(photo_like.seven_segment(digit, w, h, thick, gap, slant, paper, ink))


def cropped(digit: np.ndarray, side: int | None = None, margin: float = 0.0, zoom: int = 8) -> np.ndarray:
    """Dark on white, cropped to the digit's ink: its own box enlarged ``zoom`` times (``side`` None), or
    centred in a ``side``-pixel square with ``margin`` of it as paper (a scan or a photo cut to the digit)."""
    rows, cols = np.flatnonzero((digit > 30).any(axis=1)), np.flatnonzero((digit > 30).any(axis=0))
    ink = digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32)
    h, w = ink.shape
    s = zoom if side is None else side * (1 - 2 * margin) / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    ink = np.clip(cv2.resize(ink, size, interpolation=cv2.INTER_CUBIC), 0, 255)
    if side is None:
        return (255 - ink).astype(np.uint8)
    square = np.zeros((side, side), np.float32)
    y, x = (side - size[1]) // 2, (side - size[0]) // 2
    square[y : y + size[1], x : x + size[0]] = ink
    return (255 - square).astype(np.uint8)


def kinds(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, n: int) -> dict[str, list[tuple[bytes, str]]]:
    pick = rng.choice(len(x), n, replace=False)
    singles = [(x[i], str(y[i])) for i in pick]
    rows = [rng.choice(len(x), 4, replace=False) for _ in range(n // 4)]
    return {
        "8×8": [(encoded(tiny(d, 8)), t) for d, t in singles],
        "10×10": [(encoded(tiny(d, 10)), t) for d, t in singles],
        "12×12": [(encoded(tiny(d, 12)), t) for d, t in singles],
        "8×8 enlarged ×16 block by block": [(encoded(blocky(tiny(d, 8))), t) for d, t in singles],
        "in a box": [(on_paper([d], rng, "box"), t) for d, t in singles],
        "in a circle": [(on_paper([d], rng, "circle"), t) for d, t in singles],
        "4 digits in a row of boxes": [(on_paper(x[r], rng, "comb"), "".join(map(str, y[r]))) for r in rows],
        "white on a transparent canvas": [(transparent(d), t) for d, t in singles],
        "seven-segment display": [(seven_segment(int(t), rng), t) for _, t in singles],
        "cropped to its box, ×4": [(encoded(cropped(d, zoom=4)), t) for d, t in singles],
        "cropped to its box, ×8": [(encoded(cropped(d, zoom=8)), t) for d, t in singles],
        "100 px square, no margin": [(encoded(cropped(d, 100)), t) for d, t in singles],
        "300 px square, 3 % margin (JPEG)": [(encoded(cropped(d, 300, 0.03), "JPEG"), t) for d, t in singles],
        "underlined, touching, longer": [(underlined(d, rng, (-0.08, 0.0), (0.1, 0.3)), t) for d, t in singles],
        "underlined, below, longer": [(underlined(d, rng, (0.04, 0.12), (0.1, 0.3)), t) for d, t in singles],
        "underlined, below, as wide": [(underlined(d, rng, (0.04, 0.12), (-0.05, 0.05)), t) for d, t in singles],
    }


def optdigits(path: Path) -> dict[str, list[tuple[bytes, str]]]:
    rows = np.loadtxt(gzip.open(path), delimiter=",")
    images = 255 - (rows[:, :64].reshape(-1, 8, 8) * 255 / 16).round().astype(np.uint8)  # dark on white
    labels = [str(int(v)) for v in rows[:, 64]]
    return {
        "optdigits 8×8 (UCI, 43 writers)": [(encoded(a), t) for a, t in zip(images, labels, strict=True)],
        "optdigits enlarged ×16 block by block": [(encoded(blocky(a)), t) for a, t in zip(images, labels, strict=True)],
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--per-kind", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=None, help="MNIST data [default: as mnist-edge train]")
    p.add_argument("--optdigits", type=Path, default=None, help="scikit-learn's digits.csv.gz")
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args(argv)
    mnist = load_mnist(a.data)
    sets = kinds(mnist.x_test, mnist.y_test, np.random.default_rng(a.seed), a.per_kind)
    if a.optdigits is not None:
        sets.update(optdigits(a.optdigits))
    predictor = Predictor(threads=1)
    results = {}
    print(f"{'pictures':<40} {'n':>5} {'right':>7} {'no digit':>9}")
    for kind, pictures in sets.items():
        answers = [predictor.predict(data).digits for data, _ in pictures]
        right = sum(got == want for got, (_, want) in zip(answers, pictures, strict=True)) / len(pictures)
        none = sum(got == "" for got in answers) / len(pictures)
        results[kind] = {"n": len(pictures), "right": round(right, 4), "no_digit": round(none, 4)}
        print(f"{kind:<40} {len(pictures):>5} {right:>7.1%} {none:>9.1%}")
    if a.json:
        a.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
