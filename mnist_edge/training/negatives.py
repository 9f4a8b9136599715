"""Pictures that hold no digit, for outlier exposure: taught to the model as "every digit equally likely".

A digits-only softmax is confident on anything the front end normalises into a digit-like 28×28 (a
letter, a scribble, a texture). Outlier exposure (Hendrycks et al., 2019) trains on such negatives with
the uniform distribution as the target, so their entropy is high and the card's entropy rule rejects
them, with no change to the graph or the runtime. Every negative is drawn as a picture and put through
``mnist_edge.runtime.preprocess.read_digit``, so training sees what ``predict`` makes of it.

The kinds, all generated here (none of the benchmark's held-out kinds: words and symbols in held-out
fonts, line drawings, faces, textures, photographed objects):

* letters of the TRAINING fonts, except those that are digit shapes once normalised (O, I, l, S, Z…);
* letters of other scripts, of the TRAINED scripts only (``scripts.py``: Arabic, Devanagari, Cyrillic,
  Georgian…; Hebrew, Thai, Greek… and Arabic in Naskh are held out), digit-like letters left out;
* symbols of the TRAINING fonts, except the bars and brackets that are a 1 to any reader (| / ( [ !…);
* two MNIST training digits overlaid at an offset;
* random pen scribbles (a few connected strokes);
* drawings: two to four random primitives (ellipses, boxes, polygons, arcs, lines), outlined or filled;
* patterns: a stretch of periodic ink (gratings, checks, dot grids) at a random angle and scale;
* blotches and noise on paper;
* Fashion-MNIST training images, when Debian's ``dataset-fashion-mnist`` is installed.
"""

from __future__ import annotations

import gzip
import hashlib
import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..contract import INPUT_SIZE, SIDE
from ..errors import ImageError
from ..fonts import training_fonts
from . import scripts

# letters that normalise into a digit's shape (0 1 2 5 6 8 9, 4, 7): left out, so no digit is taught uncertain
DIGIT_LIKE_LETTERS = set("OoQDIlijJZzSsBbGgqyTt")
LETTERS = [c for c in string.ascii_letters if c not in DIGIT_LIKE_LETTERS]
# symbols a reader would not call a digit (bars, brackets, slashes and "!" are a 1; "§", "$", "¶" stay out: 8, 5, 9)
SYMBOLS = "+×#@%&?*=~<>^€£♥♣♠♦★☆✓✗→←↑↓∞÷±©®µ♪☺☼⌘¤"
FASHION_TRAIN = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")  # Debian's package
PER_KIND = 1500  # pictures generated per kind (before the runtime's "no digit found" drops some)
MIN_INK_COLUMNS = 9  # a normalised negative narrower than this is a bar: a "1" to the eye, never taught as "no digit"


@dataclass(frozen=True)
class NegativeSet:
    """Runtime-normalised non-digits: ``x`` float32 ``[n, 784]`` in [0, 1], and how many of each kind."""

    x: np.ndarray
    kinds: dict[str, int]

    def describe(self) -> dict:
        return {
            "images": int(len(self.x)),
            "kinds": dict(self.kinds),
            "sha256": hashlib.sha256(self.x.tobytes()).hexdigest(),
        }


def _letter(
    rng: np.random.Generator,
    fonts: list[Path],
    alphabet: str | list[str] = LETTERS,
    fallback: str | list[str] = LETTERS,
) -> np.ndarray:
    """One character of ``alphabet`` in one of ``fonts``; when that font lacks it, one of ``fallback``."""
    from PIL import Image, ImageDraw, ImageFont

    font = fonts[int(rng.integers(len(fonts)))]
    text = alphabet[int(rng.integers(len(alphabet)))]
    face = ImageFont.truetype(str(font), int(rng.integers(28, 72)))
    if not _has_glyph(face, text):  # the font would draw an empty or "missing glyph" box: another letter
        return _letter(rng, fonts, fallback, fallback)
    x0, y0, x1, y1 = face.getbbox(text)
    pad = max(8, (y1 - y0) // 2)
    layer = Image.new("L", (x1 - x0 + 2 * pad, y1 - y0 + 2 * pad), 255)
    ImageDraw.Draw(layer).text((pad - x0, pad - y0), text, font=face, fill=0)
    return np.asarray(layer, np.uint8)


def _script_letter(rng: np.random.Generator, available: list) -> np.ndarray:
    """One letter of one of the ``available`` scripts (``scripts.available()``), drawn as ``_letter`` draws."""
    script, fonts = available[int(rng.integers(len(available)))]
    alphabet = script.alphabet
    return _letter(rng, fonts, alphabet, fallback=alphabet)


def _has_glyph(face, text: str) -> bool:
    mask = face.getmask(text)
    missing = face.getmask("\U0010fffd")  # a private-use code point no font draws: its "missing glyph" box
    return bool(mask.getbbox()) and (mask.size != missing.size or bytes(mask) != bytes(missing))


def _overlaid(rng: np.random.Generator, digits: np.ndarray) -> np.ndarray:
    a, b = digits[rng.integers(len(digits), size=2)]
    dx, dy = rng.choice([-1, 1], size=2) * rng.integers(5, 10, size=2)  # apart enough to be two shapes
    shifted = np.roll(np.roll(b, int(dy), axis=0), int(dx), axis=1)
    ink = np.maximum(a, shifted)
    return _on_paper(np.pad(ink, 14), scale=2)


def _scribble(rng: np.random.Generator) -> np.ndarray:
    import cv2

    side = 96
    ink = np.zeros((side, side), np.uint8)
    for _ in range(int(rng.integers(2, 4))):  # one stroke alone is too often a 1, 7 or L
        points = np.cumsum(rng.normal(0, 14, (int(rng.integers(5, 10)), 2)), axis=0) + side / 2
        cv2.polylines(ink, [np.clip(points, 8, side - 8).astype(np.int32)], False, 255, int(rng.integers(3, 9)))
    return _on_paper(ink)


def _drawing(rng: np.random.Generator) -> np.ndarray:
    import cv2

    side = 128
    ink = np.zeros((side, side), np.uint8)
    for _ in range(int(rng.integers(2, 5))):
        width = -1 if rng.random() < 0.25 else int(rng.integers(2, 8))  # -1: filled
        centre = tuple(int(v) for v in rng.integers(24, side - 24, 2))
        size = tuple(int(v) for v in rng.integers(8, 40, 2))
        shape = int(rng.integers(5))
        if shape == 0:
            cv2.ellipse(ink, centre, size, float(rng.uniform(0, 180)), 0, 360, 255, width)
        elif shape == 1:
            cv2.rectangle(
                ink, (centre[0] - size[0], centre[1] - size[1]), (centre[0] + size[0], centre[1] + size[1]), 255, width
            )
        elif shape == 2:
            points = rng.integers(8, side - 8, (int(rng.integers(3, 7)), 2)).astype(np.int32)
            (cv2.fillPoly(ink, [points], 255) if width < 0 else cv2.polylines(ink, [points], True, 255, width))
        elif shape == 3:
            start = float(rng.uniform(0, 360))
            cv2.ellipse(ink, centre, size, 0, start, start + float(rng.uniform(90, 300)), 255, max(width, 2))
        else:
            cv2.line(ink, tuple(int(v) for v in rng.integers(8, side - 8, 2)), centre, 255, max(width, 2))
    return _on_paper(ink)


def _pattern(rng: np.random.Generator) -> np.ndarray:
    side = 128
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
    angle, period = float(rng.uniform(0, np.pi)), float(rng.uniform(6, 24))
    u = xx * np.cos(angle) + yy * np.sin(angle)
    v = -xx * np.sin(angle) + yy * np.cos(angle)
    kind = int(rng.integers(3))
    if kind == 0:  # grating
        field = np.sin(2 * np.pi * u / period)
    elif kind == 1:  # checks
        field = np.sin(2 * np.pi * u / period) * np.sin(2 * np.pi * v / period)
    else:  # dot grid
        field = np.cos(2 * np.pi * u / period) + np.cos(2 * np.pi * v / period) - 1
    ink = (field > rng.uniform(-0.3, 0.5)).astype(np.uint8) * 255
    window = np.zeros_like(ink)
    h, w = (int(v) for v in rng.integers(40, 110, 2))
    top, left = (side - h) // 2, (side - w) // 2
    window[top : top + h, left : left + w] = 255  # a patch of it on plain paper
    return _on_paper(ink & window)


def _blotch(rng: np.random.Generator) -> np.ndarray:
    import cv2

    side = 96
    field = cv2.GaussianBlur(rng.random((side, side), dtype=np.float32), (0, 0), float(rng.uniform(2, 8)))
    field = (field - field.min()) / max(float(np.ptp(field)), 1e-6)
    ink = (field > rng.uniform(0.55, 0.8)).astype(np.uint8) * 255
    return _on_paper(ink)


def _fashion(rng: np.random.Generator, images: np.ndarray) -> np.ndarray:
    return _on_paper(np.pad(images[int(rng.integers(len(images)))], 14), scale=2)


def _on_paper(ink: np.ndarray, scale: int = 1) -> np.ndarray:
    """Light-on-dark ink (uint8, 255 = ink) → dark ink on white paper, enlarged ``scale`` times."""
    paper = 255 - ink
    return np.kron(paper, np.ones((scale, scale), np.uint8)) if scale > 1 else paper


def _fashion_images() -> np.ndarray | None:
    if not FASHION_TRAIN.is_file():
        return None
    with gzip.open(FASHION_TRAIN) as f:
        data = np.frombuffer(f.read(), np.uint8, offset=16)
    return data.reshape(-1, SIDE, SIDE)


def _ink_columns(tensor: np.ndarray) -> int:
    columns = np.flatnonzero(tensor.reshape(SIDE, SIDE).max(axis=0) > 0.3)
    return int(columns[-1] - columns[0] + 1) if len(columns) else 0


def make_negatives(
    digits: np.ndarray, seed: int = 0, per_kind: int = PER_KIND, other_scripts: bool = False
) -> NegativeSet:
    """``per_kind`` pictures of each kind, seeded, through the runtime's ``read_digit``.

    ``digits``: MNIST *training* digits, uint8 ``[n, 28, 28]`` (light on dark), for the overlaid pairs.
    Pictures in which the runtime finds no digit are dropped (``predict`` already answers those), and so
    are thin bars, which a person would read as a 1.
    """
    from ..runtime.preprocess import read_digit

    fonts = training_fonts()
    fashion = _fashion_images()
    # letters of other scripts only when asked (the ``best-scripts`` recipe; measured, not shipped: README)
    script_fonts = scripts.available(scripts.TRAINED) if other_scripts else []  # a missing font skips its script
    makers = {
        "letters": (lambda r: _letter(r, fonts)) if fonts else None,
        "symbols": (lambda r: _letter(r, fonts, SYMBOLS)) if fonts else None,
        "overlaid_digits": lambda r: _overlaid(r, digits),
        "scribbles": _scribble,
        "drawings": _drawing,
        "patterns": _pattern,
        "blotches": _blotch,
        "fashion": (lambda r: _fashion(r, fashion)) if fashion is not None else None,
        # last, so that adding it left the pictures of every other kind as they were
        "other_scripts": (lambda r: _script_letter(r, script_fonts)) if script_fonts else None,
    }
    rng = np.random.default_rng([seed, 13])
    xs, kinds = [], {}
    for kind, make in makers.items():
        if make is None:
            continue
        kept = 0
        for _ in range(per_kind):
            try:
                tensor = read_digit(make(rng)).tensor
            except ImageError:
                continue
            if _ink_columns(tensor) >= MIN_INK_COLUMNS:
                xs.append(tensor)
                kept += 1
        kinds[kind] = kept
    x = np.asarray(xs, np.float32).reshape(-1, INPUT_SIZE)
    return NegativeSet(x, kinds)
