"""Show where the runtime looked: the picture with the digit's box, the 28×28 the model saw, the top 3.

People debug pictures by looking at them. ``explanation`` draws one small PNG per prediction;
``write_explanation`` saves it beside the others in a folder (``mnist-edge predict --explain DIR``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..contract import SIDE
from .decode import decode
from .predictor import Prediction

VIEW = 240  # the picture's longer side in the explanation
DIGIT_VIEW = 112  # the 28×28 input, scaled up 4×


def explanation(source, prediction: Prediction) -> Image.Image:
    """One RGB image: the picture (gray, scaled to fit 240 px) with the box in red, the model's 28×28, top 3."""
    picture = decode(source)
    gray = Image.fromarray(picture.gray).convert("RGB")
    fit = VIEW / max(gray.size)
    view = gray.resize((max(1, round(gray.width * fit)), max(1, round(gray.height * fit))), Image.Resampling.BILINEAR)
    boxes = [r.box for r in prediction.readings if r.box is not None] or [prediction.box]
    for box in boxes:
        if box is not None:
            scale = fit / picture.scale  # original pixels → view pixels
            x0, y0, x1, y1 = (v * scale for v in box)
            ImageDraw.Draw(view).rectangle((x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)), outline=(255, 0, 0), width=2)
    canvas = Image.new("RGB", (VIEW + DIGIT_VIEW + 24, max(VIEW, DIGIT_VIEW + 60)), (255, 255, 255))
    canvas.paste(view, (0, 0))
    if prediction.pixels is not None:  # one digit, or a number's digits side by side
        tiles = np.clip(prediction.pixels, 0, 1).reshape(-1, SIDE, SIDE)
        seen = Image.fromarray((np.concatenate(list(tiles), axis=1) * 255).astype(np.uint8))
        side = DIGIT_VIEW // len(tiles) if len(tiles) > 1 else DIGIT_VIEW
        view_digits = seen.resize((max(1, side * len(tiles)), max(1, side)), Image.Resampling.NEAREST)
        canvas.paste(view_digits.convert("RGB"), (VIEW + 12, 0))
    draw = ImageDraw.Draw(canvas)
    lines = [f"{d}: {p:.3f}" for d, p in prediction.top_k(3)] or [
        f"{prediction.digits} ({prediction.confidence:.3f})" if prediction.digits else (prediction.reason or "")
    ]
    for i, text in enumerate(lines):
        draw.text((VIEW + 12, DIGIT_VIEW + 6 + 16 * i), text, fill=(0, 0, 0))
    return canvas


def write_explanation(
    path: str | os.PathLike, prediction: Prediction, out_dir: str | os.PathLike, taken: set[str] | None = None
) -> Path:
    """Save ``explanation(path, prediction)`` as OUT_DIR/<file name>.explain.png; return where.

    ``taken``: names already written in this run; pictures of the same name from different folders
    get ``-2``, ``-3``… instead of overwriting each other.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name, n = Path(path).name, 1
    while taken is not None and name in taken:
        n += 1
        name = f"{Path(path).stem}-{n}{Path(path).suffix}"
    if taken is not None:
        taken.add(name)
    target = out_dir / f"{name}.explain.png"
    explanation(path, prediction).save(target)
    return target
