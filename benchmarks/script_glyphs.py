"""Which letters of other scripts a model reads as one Western digit, with a contact sheet to look at them.

    python benchmarks/script_glyphs.py [--model M] [--tries 4] [--min-confidence 0.9] [--sheet build/script_glyphs.png]

Every letter of every script of ``mnist_edge/training/scripts.py`` (trained and held out, the letters
left out as digit-like included) is drawn ``--tries`` times as the training negatives draw letters
(font, size, position varied; seeded) and read by ``Predictor.predict``. A letter is listed when most
tries are read as the same digit with at least ``--min-confidence``; the sheet shows each such letter
as drawn and as the model saw it (28×28), with the digit read and whether it is left out. This is how
the ``digit_like`` lists were chosen: by eye, on this sheet.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mnist_edge.runtime import Predictor  # noqa: E402
from mnist_edge.training import negatives, scripts  # noqa: E402


def readings(predictor, script, fonts, letter, tries, seed):
    rng = np.random.default_rng([seed, ord(letter)])
    out = []
    for _ in range(tries):
        picture = negatives._letter(rng, fonts, [letter], fallback=[letter])
        p = predictor.predict(picture)
        out.append((p.digits, p.confidence or 0.0, picture, p.pixels))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None)
    p.add_argument("--tries", type=int, default=4)
    p.add_argument("--min-confidence", type=float, default=0.9)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sheet", default=str(ROOT / "build/script_glyphs.png"))
    a = p.parse_args(argv)
    predictor = Predictor(a.model)
    flagged = []
    for script, fonts in scripts.available(scripts.TRAINED + scripts.HELD_OUT):
        read = 0
        for letter in script.letters:
            face = ImageFont.truetype(str(fonts[0]), 40)
            if not negatives._has_glyph(face, letter):
                continue
            tries = readings(predictor, script, fonts, letter, a.tries, a.seed)
            confident = Counter(d for d, c, *_ in tries if len(d) == 1 and c >= a.min_confidence)
            if confident and confident.most_common(1)[0][1] * 2 > a.tries:
                digit = confident.most_common(1)[0][0]
                best = next(t for t in tries if t[0] == digit)
                flagged.append((script.name, letter, digit, letter in script.digit_like, best[2], best[3]))
                read += 1
        print(
            f"{script.name:<16} {len(script.letters):>4} letters, {read:>3} read as one digit: "
            + " ".join(f"{f[1]}→{f[2]}{'(out)' if f[3] else ''}" for f in flagged if f[0] == script.name)
        )
    sheet(flagged, Path(a.sheet))
    print(f"sheet: {a.sheet}")
    return 0


def sheet(flagged, path: Path, cell: int = 96, columns: int = 12) -> None:
    rows = max(1, -(-len(flagged) // columns))
    board = Image.new("L", (columns * cell, rows * (cell + 14)), 255)
    draw = ImageDraw.Draw(board)
    for i, (name, letter, digit, out, picture, pixels) in enumerate(flagged):
        x, y = (i % columns) * cell, (i // columns) * (cell + 14)
        drawn = Image.fromarray(picture)
        drawn.thumbnail((cell // 2 - 2, cell - 4))
        board.paste(drawn, (x + 1, y + 2))
        if pixels is not None:
            seen = Image.fromarray((255 - np.asarray(pixels).reshape(28, 28) * 255).astype(np.uint8))
            board.paste(seen.resize((cell // 2 - 4, cell // 2 - 4)), (x + cell // 2, y + 2))
        draw.text((x + 2, y + cell - 2), f"{name[:7]} U+{ord(letter):04X} →{digit}{' out' if out else ''}", fill=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    board.save(path)


if __name__ == "__main__":
    sys.exit(main())
