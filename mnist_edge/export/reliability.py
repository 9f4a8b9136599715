"""Draw the reliability diagram of the parity report (``reliability.png``) with Pillow alone.

One panel per model and per "before / after temperature": a bar per confidence bin at the height
of its accuracy, the diagonal where a calibrated model's bars would end, and the ECE in the title.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

from ..files import write_bytes

PANEL = 220  # pixels a side of one plot
MARGIN = 30


def write_reliability(report: dict, path: Path, names: dict[str, str] | None = None) -> None:
    """The reliability diagram of ``report["trust"]`` at ``path``, named in the report; nothing without trust."""
    if report.get("trust"):
        reliability_png(report["trust"], path, names)
        report["trust"]["reliability_png"] = path.name


def reliability_png(trust: dict, path: str | Path, names: dict[str, str] | None = None) -> None:
    """Write the diagram for ``report["trust"]`` to ``path`` (atomically); ``names``: a title per model kind."""
    import io

    names = names or {}
    kinds = list(trust["reliability"])
    width = 2 * (PANEL + 2 * MARGIN)
    height = len(kinds) * (PANEL + 2 * MARGIN)
    image = Image.new("RGB", (width, max(height, 1)), "white")
    draw = ImageDraw.Draw(image)
    for row, kind in enumerate(kinds):
        for col, when in enumerate(("before", "after")):
            confidence, accuracy, counts = trust["reliability"][kind][when]
            x0, y0 = col * (PANEL + 2 * MARGIN) + MARGIN, row * (PANEL + 2 * MARGIN) + MARGIN
            _panel(draw, x0, y0, accuracy, counts)
            ece = trust["models"][kind][f"ece_{when}"]
            title = f"{names.get(kind, kind)}, {when} T: ECE {ece:.2%}"
            draw.text((x0, y0 - MARGIN + 8), title, fill="black")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    write_bytes(path, buffer.getvalue())


def _panel(draw: ImageDraw.ImageDraw, x0: int, y0: int, accuracy: list[float], counts: list[float]) -> None:
    bins = len(accuracy)
    step = PANEL / bins
    draw.rectangle((x0, y0, x0 + PANEL, y0 + PANEL), outline="black")
    for i, (acc, n) in enumerate(zip(accuracy, counts, strict=True)):
        if n:
            top = y0 + PANEL * (1 - acc)
            draw.rectangle((x0 + i * step + 1, top, x0 + (i + 1) * step - 1, y0 + PANEL), fill=(70, 110, 200))
    draw.line((x0, y0 + PANEL, x0 + PANEL, y0), fill=(200, 40, 40), width=1)  # perfect calibration
    draw.text((x0 + 2, y0 + PANEL + 2), "confidence (0 to 1), bars: accuracy", fill="gray")
