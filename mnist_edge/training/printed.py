"""Printed digits rendered from the TRAINING fonts, normalised exactly as the runtime normalises a picture.

Each digit 0–9 is drawn dark on light in every training font file (``mnist_edge.fonts.training_fonts``:
every weight and style the installed files give, never a held-out family) at a few glyph heights, then
put through ``mnist_edge.runtime.preprocess.preprocess``, so training sees the 28×28 that the runtime
produces from a printed digit (stroke width brought to MNIST's, 20 px box, centre of mass). Random
affine jitter comes later, in the tf.data pipeline, with the MNIST digits of the same batch.

Rendering takes a few seconds; the set is cached in memory for the run (``printed_digits``).
"""

from __future__ import annotations

import functools
import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..contract import INPUT_SIZE
from ..errors import ImageError
from ..fonts import HELD_OUT_FONTS, held_out_fonts, training_fonts

GLYPH_HEIGHTS = (28, 64)  # rendered digit heights in pixels: a small print and a large one
MARGIN = 0.6  # paper around the glyph, as a fraction of its height
MIN_BOX_SHARE = 0.6  # a render whose runtime box covers less of the glyph's box is left out


@dataclass(frozen=True)
class PrintedSet:
    """Rendered printed digits: ``x`` float32 ``[n, 784]`` in [0, 1] (runtime-normalised), ``y`` uint8 labels."""

    x: np.ndarray
    y: np.ndarray
    fonts: tuple[str, ...]  # font file names used
    skipped: tuple[str, ...]  # font files that could not render a digit (with the reason)
    partial: int = 0  # renders left out: the runtime found no digit or only part of the glyph

    def describe(self) -> dict:
        names = "\n".join(self.fonts).encode()
        return {
            "images": int(len(self.x)),
            "font_files": len(self.fonts),
            "fonts_sha256": hashlib.sha256(names).hexdigest(),
            "glyph_heights": list(GLYPH_HEIGHTS),
            "skipped": list(self.skipped),
            "partial_left_out": self.partial,
        }


def render_digit(font: Path, digit: int, height: int) -> np.ndarray:
    """One digit, dark (0) on light (255) paper, ``height`` pixels tall plus a margin: uint8 ``[h, w]``."""
    from PIL import Image, ImageDraw, ImageFont

    probe = ImageFont.truetype(str(font), 200)
    _, y0, _, y1 = probe.getbbox(str(digit))
    size = max(4, round(200 * height / max(1, y1 - y0)))
    face = ImageFont.truetype(str(font), size * 2)  # drawn at 2× and reduced: smooth edges
    gx0, gy0, gx1, gy1 = face.getbbox(str(digit))
    if gx1 <= gx0 or gy1 <= gy0:
        raise ValueError(f"no glyph for {digit}")
    pad = round(MARGIN * (gy1 - gy0))
    layer = Image.new("L", (gx1 - gx0 + 2 * pad, gy1 - gy0 + 2 * pad), 255)
    ImageDraw.Draw(layer).text((pad - gx0, pad - gy0), str(digit), font=face, fill=0)
    layer = layer.resize((max(1, layer.width // 2), max(1, layer.height // 2)), Image.LANCZOS)
    return np.asarray(layer, np.uint8)


def render_fonts(fonts: list[Path], heights=GLYPH_HEIGHTS) -> PrintedSet:
    """Every digit in every font at every height, through the runtime's preprocessing."""
    from ..runtime.preprocess import read_digit

    held = {p.name for p in held_out_fonts()}
    xs, ys, used, skipped, partial = [], [], [], [], 0
    for font in fonts:
        if font.name in held or _matches_held_out(font.name):
            raise ValueError(f"{font.name} is a held-out font; it must never be trained on")
        try:
            rows = [(_normalised(render_digit(font, d, h), read_digit), d) for d in range(10) for h in heights]
        except Exception as e:  # noqa: BLE001 - a broken or digit-less font file is skipped, and recorded
            skipped.append(f"{font.name}: {type(e).__name__}: {e}"[:200])
            continue
        kept = [(x, d) for x, d in rows if x is not None]
        partial += len(rows) - len(kept)
        if not kept:
            continue
        xs.extend(r[0] for r in kept)
        ys.extend(r[1] for r in kept)
        used.append(font.name)
    x = np.asarray(xs, np.float32).reshape(-1, INPUT_SIZE)
    return PrintedSet(x, np.asarray(ys, np.uint8), tuple(used), tuple(skipped), partial)


def _normalised(gray: np.ndarray, read_digit) -> np.ndarray | None:
    """The runtime's 784 values for a rendered digit; None when the runtime finds no digit or keeps only
    part of the glyph (say the bowl of a 5 whose flag it took for another stroke): not a label to teach."""
    rows, cols = np.nonzero(gray < (int(gray.min()) + 255) / 2)  # the glyph's ink, hairlines included
    try:
        reading = read_digit(gray)
    except ImageError:  # the runtime finds no digit (a hairline face, small)
        return None
    glyph = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
    x0, y0, x1, y1 = reading.box
    if (x1 - x0) * (y1 - y0) < MIN_BOX_SHARE * glyph:
        return None
    return reading.tensor


def _matches_held_out(name: str) -> bool:
    import fnmatch

    return any(fnmatch.fnmatchcase(name, p) for p in HELD_OUT_FONTS)


@functools.lru_cache(maxsize=1)
def printed_digits() -> PrintedSet:
    """The training fonts' printed digits, rendered once per process. Warns (and is empty) without fonts."""
    fonts = training_fonts()
    if not fonts:
        warnings.warn(
            "no training font found: training without printed digits (make fonts, or apt-get install the "
            "packages listed in mnist_edge/fonts.py)",
            stacklevel=2,
        )
    return render_fonts(fonts)
