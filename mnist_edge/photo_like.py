"""Photo-like digits made from MNIST ones, to measure how the runtime copes with real pictures.

An MNIST digit is drawn as dark ink on light gray paper, scaled up and placed off-centre in a
larger RGB picture: what a phone photo of a handwritten digit roughly looks like after cropping.
``row_picture`` writes several in a row, apart, touching or written into each other;
``seven_segment`` draws a digit as a meter's or a clock's display does.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ROW_HEIGHT = 80  # digit height in ``row_picture``, pixels
SEVEN_SEGMENTS = ("abcdef", "bc", "abdeg", "abcdg", "bcfg", "acdfg", "acdefg", "abc", "abcdefg", "abcdfg")  # 0…9


def photo_of_digit(
    digit: np.ndarray, size: int = 200, offset: tuple[int, int] = (30, -20), paper: int = 235
) -> Image.Image:
    """``digit``: uint8 28×28 MNIST digit → RGB picture ``size``×``size``, ink dark, digit about half the side."""
    side = max(2, size // 2)
    ink = Image.fromarray(digit).resize((side, side), Image.Resampling.BILINEAR)
    picture = Image.new("L", (size, size), paper)
    picture.paste(Image.new("L", ink.size, 0), (size // 4 + offset[0], size // 4 + offset[1]), mask=ink)
    return picture.convert("RGB")


def plain_resize(picture: Image.Image) -> np.ndarray:
    """The naive baseline: gray, invert, squash to 28×28, nothing else. float32 [784] in [0, 1]."""
    gray = np.asarray(picture.convert("L").resize((28, 28), Image.Resampling.BILINEAR), np.float32) / 255.0
    return (1.0 - gray).reshape(-1)


def digit_ink(img28: np.ndarray, height: int = ROW_HEIGHT) -> np.ndarray:
    """The digit's ink (float 0…1) cropped and scaled to ``height`` pixels tall."""
    ys, xs = np.nonzero(img28 > 30)
    crop = img28[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    width = max(2, round(crop.shape[1] * height / crop.shape[0]))
    return np.asarray(Image.fromarray(crop).resize((width, height), Image.Resampling.BICUBIC), np.float32) / 255


def row_picture(
    digits: list[np.ndarray], gaps: list[float], angle: float = 0.0, inks: list[np.ndarray] | None = None
) -> tuple[bytes, list[int]]:
    """A JPEG of the digits written in a row on light paper (``gaps`` in digit heights, negative: overlap),
    and the x where each digit starts (``inks``: the digits' ink as drawn, instead of ``digit_ink(digit)``)."""
    inks = inks or [digit_ink(d) for d in digits]
    width = sum(a.shape[1] for a in inks) + sum(round(g * ROW_HEIGHT) for g in gaps)
    canvas = np.zeros((ROW_HEIGHT * 3, width + 2 * ROW_HEIGHT), np.float32)
    x, starts = ROW_HEIGHT, []
    for i, a in enumerate(inks):
        starts.append(x)
        region = canvas[ROW_HEIGHT : 2 * ROW_HEIGHT, x : x + a.shape[1]]
        np.maximum(region, a, out=region)
        x += a.shape[1] + (round(gaps[i] * ROW_HEIGHT) if i < len(gaps) else 0)
    paper = Image.fromarray((235 - canvas * 210).astype(np.uint8))
    if angle:
        paper = paper.rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=235)
    buffer = io.BytesIO()
    paper.convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue(), starts


def seven_segment(
    digit: int, w: int, h: int, thick: int, gap: int, slant: float, paper: int = 235, ink: int = 30
) -> Image.Image:
    """A seven-segment display's digit, ``w``×``h`` in the middle of a 320×240 gray picture: bars ``thick``
    wide with ``gap`` pixels at the joints, leaning by ``slant`` (of the height), slightly blurred."""
    ends = {"a": (0, 0, w, 0), "g": (0, h / 2, w, h / 2), "d": (0, h, w, h), "f": (0, 0, 0, h / 2),
            "b": (w, 0, w, h / 2), "e": (0, h / 2, 0, h), "c": (w, h / 2, w, h)}  # fmt: skip
    picture = Image.new("L", (320, 240), paper)
    draw = ImageDraw.Draw(picture)
    ox, oy = 160 - w / 2, 120 - h / 2
    for segment in SEVEN_SEGMENTS[digit]:
        x0, y0, x1, y1 = ends[segment]
        inset = gap + thick / 2
        if x0 == x1:
            y0, y1 = y0 + inset, y1 - inset
        else:
            x0, x1 = x0 + inset, x1 - inset
        draw.line([(ox + x0 + slant * (h - y0), oy + y0), (ox + x1 + slant * (h - y1), oy + y1)], fill=ink, width=thick)
    return picture.filter(ImageFilter.GaussianBlur(0.8))
