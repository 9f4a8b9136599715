"""Non-digits of kinds neither the training recipe nor ``non_digit_sets.py`` has: how many are refused.

    python benchmarks/more_non_digits.py [--per-kind 30] [--seed 3] [--model M]

Barcodes (bars of varied widths), QR-like grids, single letters of scripts other than Latin (Thai,
Hebrew, Arabic; Debian's ``fonts-noto-*``, a kind is skipped when its font is missing), drawn on
light paper, slightly blurred, and Latin letters and symbols cropped tight (the letter fills the
picture, as a digit cropped to its box does). Prints per kind how many ``Predictor.predict`` answers with no digit
("not a digit" or "no digit found") and what the others were read as. Seeded: same seed, same pictures.

Then one kind per script of ``mnist_edge/training/scripts.py``, in two groups: the scripts training
draws negatives from (trained scripts, drawn here on a paper picture rather than as training draws
them) and the scripts it never sees (held out; Arabic in Noto Naskh Arabic is a trained script in an
unseen font). These use each script's letters without the digit-like ones (``Script.alphabet``), in
any of its fonts; the three letter kinds above keep their first lists (Arabic alef and Hebrew vav, a
1 to any reader, included) so that their figures compare with earlier runs.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mnist_edge.runtime import Predictor  # noqa: E402
from mnist_edge.training import scripts  # noqa: E402

NOTO = Path("/usr/share/fonts/truetype/noto")
SCRIPTS = {  # kind: (font file, letters)
    "thai letters": ("NotoSansThai-Regular.ttf", "กขคงจฉชซญฎฏฐฑฒณดตถทธนบปผฝพฟภมยรลวศษสหฬอฮ"),
    "hebrew letters": ("NotoSerifHebrew-Bold.ttf", "אבגדהוזחטיכלמנסעפצקרשת"),
    "arabic letters": ("NotoNaskhArabic-Bold.ttf", "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"),
}


def paper() -> Image.Image:
    return Image.new("L", (480, 360), 230)


def barcode(rng: random.Random) -> Image.Image:
    picture = paper()
    draw, x = ImageDraw.Draw(picture), rng.randint(50, 110)
    while x < 400:
        width = rng.choice((2, 3, 5, 7))
        draw.rectangle([x, 100, x + width, 260], fill=30)
        x += width + rng.choice((2, 3, 5))
    return picture.filter(ImageFilter.GaussianBlur(0.7))


def qr_grid(rng: random.Random) -> Image.Image:
    picture, cell, x0, y0 = paper(), 8, rng.randint(100, 200), rng.randint(60, 110)
    draw = ImageDraw.Draw(picture)
    for i in range(21):
        for j in range(21):
            if rng.random() < 0.5:
                draw.rectangle(
                    [x0 + i * cell, y0 + j * cell, x0 + (i + 1) * cell - 1, y0 + (j + 1) * cell - 1], fill=20
                )
    for ci, cj in ((0, 0), (14, 0), (0, 14)):  # the three finder squares
        box = [x0 + ci * cell, y0 + cj * cell, x0 + (ci + 7) * cell - 1, y0 + (cj + 7) * cell - 1]
        draw.rectangle(box, outline=20, width=cell)
    return picture.filter(ImageFilter.GaussianBlur(0.7))


def letter_of(font_path: Path | list[Path], letters: str | list[str]):
    fonts = font_path if isinstance(font_path, list) else [font_path]

    def make(rng: random.Random) -> Image.Image:
        picture = paper()
        path = (
            fonts[0] if len(fonts) == 1 else rng.choice(fonts)
        )  # one font: no draw, the first kinds' pictures as before
        font = ImageFont.truetype(str(path), rng.randint(90, 160))
        ImageDraw.Draw(picture).text(
            (rng.randint(60, 200), rng.randint(40, 120)), rng.choice(letters), fill=25, font=font
        )
        return picture.filter(ImageFilter.GaussianBlur(0.7))

    return make


TIGHT_FONTS = ("dejavu/DejaVuSans.ttf", "dejavu/DejaVuSerif-Bold.ttf", "liberation/LiberationSans-Regular.ttf")
TIGHT_LETTERS = "ACEFHKMNPRTUVWXYacdefhkmnprtuvwxy&#@%?"  # no digit look-alikes (O, l, S, Z, B, g, q…)


def cropped_letter(rng: random.Random) -> Image.Image:
    """A Latin letter or symbol cut out to its ink's box, with 0–3 pixels of paper (a cropped scan)."""
    fonts = [Path("/usr/share/fonts/truetype") / f for f in TIGHT_FONTS]
    font = ImageFont.truetype(str(rng.choice([f for f in fonts if f.is_file()])), rng.randint(90, 200))
    picture = Image.new("L", (400, 400), 240)
    ImageDraw.Draw(picture).text((80, 40), rng.choice(TIGHT_LETTERS), fill=25, font=font)
    x0, y0, x1, y1 = Image.eval(picture, lambda v: 255 - v).point(lambda v: 255 if v > 60 else 0).getbbox()
    m = rng.randint(0, 3)
    return picture.crop((x0 - m, y0 - m, x1 + m, y1 + m)).filter(ImageFilter.GaussianBlur(0.6))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--per-kind", type=int, default=30)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--model", default=None, help="ONNX model [default: the shipped int8 model]")
    p.add_argument(
        "--save",
        type=Path,
        default=None,
        help="also write the pictures here: trained/<kind>/, held-out/<kind>/, other/",
    )
    a = p.parse_args(argv)
    predictor = Predictor(a.model)
    kinds = {"barcodes": barcode, "QR-like grids": qr_grid}
    kinds |= {k: letter_of(NOTO / f, s) for k, (f, s) in SCRIPTS.items() if (NOTO / f).is_file()}
    if any((Path("/usr/share/fonts/truetype") / f).is_file() for f in TIGHT_FONTS):
        kinds["letters cut out"] = cropped_letter
    print(f"{'kind':<18}{'no digit':>10}  read as")
    for name, make in kinds.items():
        score(predictor, name, make, a, "other")
    for title, group in (("trained scripts", scripts.TRAINED), ("held-out scripts", scripts.HELD_OUT)):
        print(f"-- {title}")
        folder = title.split()[0]
        refused = [
            score(predictor, s.name, letter_of(files, s.alphabet), a, folder) for s, files in scripts.available(group)
        ]
        if refused:
            share = sum(refused) / (len(refused) * a.per_kind)
            print(f"{title}: {sum(refused)}/{len(refused) * a.per_kind} refused ({100 * share:.1f} %)")
    return 0


def score(predictor: Predictor, name: str, make, a, group: str) -> int:
    """How many of ``a.per_kind`` pictures of one kind are answered with no digit; prints the kind's line."""
    rng = random.Random(f"{a.seed}:{name}")
    pictures = [make(rng) for _ in range(a.per_kind)]
    if a.save:  # e.g. for benchmarks/reject_tradeoff.py --non-digits DIR/held-out
        folder = a.save / group / name.replace(" ", "_").replace("(", "").replace(")", "")
        folder.mkdir(parents=True, exist_ok=True)
        for i, picture in enumerate(pictures):
            picture.save(folder / f"{i:04d}.png")
    answers = [predictor.predict(picture).digits for picture in pictures]
    refused = sum(answer == "" for answer in answers)
    print(f"{name:<18}{refused:>6}/{a.per_kind:<3}  {' '.join(x for x in answers if x)[:60]}")
    return refused


if __name__ == "__main__":
    sys.exit(main())
