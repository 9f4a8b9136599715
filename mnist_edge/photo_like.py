"""Photo-like digits made from MNIST ones, to measure how the runtime copes with real pictures.

An MNIST digit is drawn as dark ink on light gray paper, scaled up and placed off-centre in a
larger RGB picture: what a phone photo of a handwritten digit roughly looks like after cropping.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


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
