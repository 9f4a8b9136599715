"""Accuracy on printed digits, held-out fonts against training fonts, clean renders (issue 12).

    python benchmarks/printed_fonts.py --model mnist_edge/runtime/models/model.int8.onnx

Every digit 0–9 in every installed font file of each list (``mnist_edge.fonts``), dark on light at
glyph heights 28 and 64 px, rendered by ``mnist_edge.training.printed.render_digit`` and read by the
runtime (``Predictor.predict`` on the picture: the runtime's own preprocessing). The held-out fonts
are never trained on; the training fonts are what the edge recipe mixes in. Per list: accuracy, the
accuracy on "1", and the most common confusions. Figures go to ``benchmarks/printed_fonts.json``.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mnist_edge.fonts import held_out_fonts, training_fonts  # noqa: E402
from mnist_edge.runtime import ImageError, Predictor  # noqa: E402
from mnist_edge.training.printed import render_digit  # noqa: E402

HEIGHTS = (28, 64)


def score(predictor: Predictor, fonts: list[Path]) -> dict:
    right = total = ones_right = ones = 0
    confusions: collections.Counter = collections.Counter()
    failures = []
    for font in fonts:
        for digit in range(10):
            for height in HEIGHTS:
                try:
                    gray = render_digit(font, digit, height)
                except Exception:  # noqa: BLE001 - a font without the glyph is not a test
                    continue
                try:
                    read = predictor.predict(gray).digits or "none"  # "" is "not a digit" / no digit found
                except ImageError:
                    read = "none"
                total += 1
                ones += digit == 1
                if read == str(digit):
                    right += 1
                    ones_right += digit == 1
                else:
                    label = read
                    confusions[f"{digit}→{read}"] += 1
                    failures.append(f"{font.name} {digit}@{height}px → {label}")
    return {
        "font_files": len(fonts),
        "pictures": total,
        "accuracy": right / total if total else None,
        "accuracy_on_1": ones_right / ones if ones else None,
        "confusions": dict(confusions.most_common(8)),
        "failures": failures,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=None, help="ONNX model [default: the runtime's default]")
    p.add_argument("--json", dest="json_out", type=Path, default=Path(__file__).with_suffix(".json"))
    args = p.parse_args(argv)
    predictor = Predictor(args.model)
    out = {"model": str(args.model) if args.model else "default"}
    for name, fonts in (("held_out", held_out_fonts()), ("training", training_fonts())):
        r = out[name] = score(predictor, fonts)
        acc = f"{100 * r['accuracy']:.2f} %" if r["accuracy"] is not None else "-"
        one = f"{100 * r['accuracy_on_1']:.1f} %" if r["accuracy_on_1"] is not None else "-"
        print(f"{name:9} fonts {r['font_files']:4}  pictures {r['pictures']:5}  accuracy {acc:>8}  on '1' {one:>7}")
        print(f"          confusions {r['confusions']}")
    args.json_out.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
