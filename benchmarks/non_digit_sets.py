"""Generate deterministic pictures that hold no digit, to measure "not a digit" (issue 13).

    python benchmarks/non_digit_sets.py --out build/non-digits [--per-kind 100] [--seed 0]

One folder per kind, plus ``kinds.json`` ({"kind": {"role": "tune" | "held_out", "files": [...]}}).
Same seed, same Pillow → byte-identical files. numpy + Pillow only (Fashion-MNIST from the Debian
package ``dataset-fashion-mnist`` when it is installed; the kind is left out otherwise).

``TUNE`` kinds were looked at while the rejection method was chosen, or are kinds the training
recipe's non-digits include (letters and symbols, in other fonts); ``HELD_OUT`` kinds were not (they
are generated differently: other fonts, other drawings), so their reject rate is the honest one.
``icons`` are the most honest of all: pictograms of the desktop's icon theme (Debian's
``adwaita-icon-theme``, when installed), drawn by designers, not by this project.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import math
import string
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mnist_edge.fonts import held_out_fonts, training_fonts

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist
ICON_DIR = Path("/usr/share/icons/Adwaita")  # Debian's adwaita-icon-theme
TUNE = ("letters", "fashion", "noise", "blank_smudge", "symbols")
HELD_OUT = ("words", "shapes", "faces", "textures", "objects", "icons")
# the order seeds each kind (rng_for): kept as it was when symbols were held out, icons last
KINDS = (
    "letters",
    "fashion",
    "noise",
    "blank_smudge",
    "words",
    "symbols",
    "shapes",
    "faces",
    "textures",
    "objects",
    "icons",
)
DEFAULT_PER_KIND = 100
SYMBOLS = "+×#@%&?!*$€§¶=~<>{}[]()/\\|^;:♥☺✓✗→★"
WORDS = ("cat", "the", "hello", "OK", "Ab", "xyz", "mail", "STOP", "Yes", "no", "edge", "Hi", "wow", "map", "sun")


def rng_for(seed: int, kind: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, KINDS.index(kind), index])


def paper_picture(rng: np.random.Generator, alpha: np.ndarray) -> tuple[Image.Image, str]:
    """Ink ``alpha`` (float [0, 1], H×W) on light paper; sometimes photo-like (shading, noise, blur, JPEG)."""
    h, w = alpha.shape
    paper, ink = float(rng.uniform(215, 250)), float(rng.uniform(10, 70))
    img = paper + (ink - paper) * alpha
    photo = rng.random() < 0.5
    if photo:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        gx, gy = rng.uniform(-1, 1, 2)
        img = img * (1 - 0.2 * (0.5 + 0.5 * (gx * (xx / w - 0.5) + gy * (yy / h - 0.5))))
        img = img + rng.standard_normal((h, w)) * float(rng.uniform(1, 5))
    out = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    if photo:
        out = out.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.2)))).convert("RGB")
    return out, "jpg" if photo or rng.random() < 0.3 else "png"


def text_alpha(text: str, font: Path, height: int, rng: np.random.Generator) -> np.ndarray | None:
    """``text`` rendered with ``font`` about ``height`` px tall, on a frame with a margin; None if the font lacks it."""
    f = ImageFont.truetype(str(font), height)
    try:
        if any(not f.getmask(c).getbbox() for c in text if not c.isspace()):
            return None
    except Exception:
        return None
    x0, y0, x1, y1 = f.getbbox(text)
    pad = int(height * rng.uniform(0.3, 1.2))
    w, h = x1 - x0 + 2 * pad, y1 - y0 + 2 * pad
    layer = Image.new("L", (w, h), 0)
    ImageDraw.Draw(layer).text((pad - x0, pad - y0), text, font=f, fill=255)
    if rng.random() < 0.3:
        layer = layer.rotate(float(rng.uniform(-10, 10)), resample=Image.BICUBIC, expand=True)
    return np.asarray(layer, np.float32) / 255.0


def make_text(kind: str, rng: np.random.Generator, fonts: list[Path]):
    for _ in range(20):
        font = fonts[int(rng.integers(len(fonts)))]
        if kind == "letters":
            text = str(rng.choice(list(string.ascii_letters)))
        elif kind == "symbols":
            text = str(rng.choice(list(SYMBOLS)))
        else:
            text = str(rng.choice(WORDS))
        alpha = text_alpha(text, font, int(rng.choice([40, 64, 96, 160])), rng)
        if alpha is not None:
            return paper_picture(rng, alpha), {"text": text, "font": font.name}
    raise RuntimeError(f"no font renders {kind}")


def canvas(rng: np.random.Generator) -> tuple[Image.Image, ImageDraw.ImageDraw, int]:
    side = int(rng.choice([160, 240, 320, 480]))
    layer = Image.new("L", (side, side), 0)
    return layer, ImageDraw.Draw(layer), side


def stroke_width(rng: np.random.Generator, side: int) -> int:
    return max(2, int(side * rng.uniform(0.01, 0.04)))


def make_shape(rng: np.random.Generator):
    """A line drawing: star, arrow, house, spiral, hatched box, grid, flower, tree, zig-zag."""
    layer, d, s = canvas(rng)
    width, c = stroke_width(rng, s), s / 2
    r = s * rng.uniform(0.25, 0.4)
    shape = str(rng.choice(["star", "arrow", "house", "spiral", "hatched", "grid", "flower", "tree", "zigzag"]))
    if shape == "star":
        pts = [
            (c + (r if i % 2 == 0 else r * 0.45) * math.cos(math.pi * i / 5 - math.pi / 2),
             c + (r if i % 2 == 0 else r * 0.45) * math.sin(math.pi * i / 5 - math.pi / 2))
            for i in range(10)
        ]  # fmt: skip
        d.polygon(pts, outline=255, width=width)
    elif shape == "arrow":
        d.line([(c - r, c), (c + r, c)], fill=255, width=width)
        d.line([(c + r * 0.5, c - r * 0.4), (c + r, c), (c + r * 0.5, c + r * 0.4)], fill=255, width=width)
    elif shape == "house":
        d.rectangle([c - r * 0.7, c - r * 0.1, c + r * 0.7, c + r], outline=255, width=width)
        d.line([(c - r * 0.85, c), (c, c - r), (c + r * 0.85, c)], fill=255, width=width)
        d.rectangle([c - r * 0.15, c + r * 0.4, c + r * 0.15, c + r], outline=255, width=width)
    elif shape == "spiral":
        t = np.linspace(0, 6 * math.pi, 300)
        pts = list(zip(c + r * t / t[-1] * np.cos(t), c + r * t / t[-1] * np.sin(t), strict=True))
        d.line(pts, fill=255, width=width)
    elif shape == "hatched":
        d.rectangle([c - r, c - r * 0.7, c + r, c + r * 0.7], outline=255, width=width)
        for k in np.arange(-2 * r, 2 * r, r * 0.25):
            d.line([(c + k - r * 0.7, c + r * 0.7), (c + k + r * 0.7, c - r * 0.7)], fill=255, width=max(1, width // 2))
        d.rectangle([0, 0, s, c - r * 0.7 - width], fill=0)
        d.rectangle([0, c + r * 0.7 + width, s, s], fill=0)
    elif shape == "grid":
        for k in np.linspace(c - r, c + r, 4):
            d.line([(k, c - r), (k, c + r)], fill=255, width=width)
            d.line([(c - r, k), (c + r, k)], fill=255, width=width)
    elif shape == "flower":
        for i in range(6):
            a = i * math.pi / 3
            px, py = c + r * 0.55 * math.cos(a), c + r * 0.55 * math.sin(a)
            d.ellipse([px - r * 0.35, py - r * 0.35, px + r * 0.35, py + r * 0.35], outline=255, width=width)
    elif shape == "tree":
        d.line([(c, c + r), (c, c - r * 0.2)], fill=255, width=width * 2)
        d.ellipse([c - r * 0.8, c - r, c + r * 0.8, c + r * 0.1], outline=255, width=width)
    else:
        pts = [(c - r + i * r / 4, c + (r * 0.4 if i % 2 else -r * 0.4)) for i in range(9)]
        d.line(pts, fill=255, width=width)
    return paper_picture(rng, np.asarray(layer, np.float32) / 255.0), {"shape": shape}


def make_face(rng: np.random.Generator):
    """A drawn face: head outline, two eyes, a mouth, sometimes hair, nose or ears."""
    layer, d, s = canvas(rng)
    width, c = stroke_width(rng, s), s / 2
    rx, ry = s * rng.uniform(0.25, 0.38), s * rng.uniform(0.28, 0.4)
    d.ellipse([c - rx, c - ry, c + rx, c + ry], outline=255, width=width)
    e = rx * rng.uniform(0.08, 0.16)
    for side in (-1, 1):
        ex, ey = c + side * rx * 0.4, c - ry * 0.25
        d.ellipse([ex - e, ey - e, ex + e, ey + e], fill=255 if rng.random() < 0.6 else None, outline=255, width=width)
    mouth = [c - rx * 0.5, c + ry * 0.05, c + rx * 0.5, c + ry * 0.65]
    d.arc(mouth, 20, 160, fill=255, width=width) if rng.random() < 0.7 else d.line(
        [(mouth[0], c + ry * 0.45), (mouth[2], c + ry * 0.45)], fill=255, width=width
    )
    if rng.random() < 0.5:
        d.line([(c, c - ry * 0.1), (c - rx * 0.1, c + ry * 0.2), (c, c + ry * 0.2)], fill=255, width=width)
    if rng.random() < 0.5:
        for k in np.linspace(-rx * 0.8, rx * 0.8, 7):
            d.line([(c + k, c - ry * 0.85), (c + k * 1.2, c - ry * 1.2)], fill=255, width=width)
    return paper_picture(rng, np.asarray(layer, np.float32) / 255.0), {}


def make_texture(rng: np.random.Generator):
    """A photo-like texture filling the frame: stripes, checks, wood grain, fabric weave, gravel."""
    h, w = int(rng.choice([200, 300, 480])), int(rng.choice([200, 320, 640]))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    kind = str(rng.choice(["stripes", "checks", "wood", "weave", "gravel"]))
    period = float(rng.uniform(8, 40))
    a = float(rng.uniform(0, math.pi))
    u = xx * math.cos(a) + yy * math.sin(a)
    if kind == "stripes":
        img = 0.5 + 0.5 * np.sin(2 * math.pi * u / period)
    elif kind == "checks":
        v = -xx * math.sin(a) + yy * math.cos(a)
        img = ((np.floor(u / period) + np.floor(v / period)) % 2).astype(np.float32)
    elif kind == "wood":
        noise = np.asarray(Image.fromarray((rng.random((8, 8)) * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC))
        img = 0.5 + 0.5 * np.sin(2 * math.pi * (u / period + noise / 40.0))
    elif kind == "weave":
        v = -xx * math.sin(a) + yy * math.cos(a)
        img = 0.5 + 0.25 * np.sin(2 * math.pi * u / period) * np.sign(np.sin(2 * math.pi * v / period)) + 0.25
    else:
        img = np.asarray(Image.fromarray((rng.random((h // 6, w // 6)) * 255).astype(np.uint8)).resize((w, h)))
        img = img / 255.0
    lo, hi = float(rng.uniform(30, 120)), float(rng.uniform(160, 250))
    img = lo + (hi - lo) * img + rng.standard_normal((h, w)) * float(rng.uniform(2, 10))
    out = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.8))
    return (out.convert("RGB"), "jpg"), {"texture": kind}


def make_object(rng: np.random.Generator):
    """A photo-like object on a table: a shaded filled shape (cup, ball, box, bottle, leaf) with a shadow."""
    h, w = int(rng.choice([240, 360, 480])), int(rng.choice([320, 480, 640]))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    table = float(rng.uniform(150, 235))
    img = table + 15 * (xx / w - 0.5) + rng.standard_normal((h, w)) * 2
    mask = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(mask)
    cx, cy, r = (
        w / 2 + rng.uniform(-w / 8, w / 8),
        h / 2 + rng.uniform(-h / 8, h / 8),
        min(w, h) * rng.uniform(0.2, 0.35),
    )
    obj = str(rng.choice(["cup", "ball", "box", "bottle", "leaf"]))
    if obj == "cup":
        d.rectangle([cx - r * 0.6, cy - r * 0.7, cx + r * 0.6, cy + r * 0.7], fill=255)
        d.ellipse([cx + r * 0.4, cy - r * 0.35, cx + r * 1.0, cy + r * 0.35], outline=255, width=int(r * 0.15))
    elif obj == "ball":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
    elif obj == "box":
        d.polygon([(cx - r, cy - r * 0.4), (cx + r * 0.3, cy - r * 0.8), (cx + r, cy - r * 0.2), (cx + r, cy + r * 0.6),
                   (cx - r * 0.2, cy + r), (cx - r, cy + r * 0.5)], fill=255)  # fmt: skip
    elif obj == "bottle":
        d.rectangle([cx - r * 0.35, cy - r * 0.3, cx + r * 0.35, cy + r], fill=255)
        d.rectangle([cx - r * 0.12, cy - r, cx + r * 0.12, cy - r * 0.3], fill=255)
    else:
        d.ellipse([cx - r, cy - r * 0.45, cx + r, cy + r * 0.45], fill=255)
    m = np.asarray(mask.filter(ImageFilter.GaussianBlur(1.5)), np.float32) / 255.0
    shadow = np.asarray(mask.filter(ImageFilter.GaussianBlur(r * 0.2)), np.float32) / 255.0
    shadow = np.roll(shadow, (int(r * 0.15), int(r * 0.2)), axis=(0, 1))
    tone = float(rng.uniform(20, 200)) + 40 * ((xx - cx) / r)  # light from one side
    img = img * (1 - 0.35 * shadow)
    img = img * (1 - m) + tone * m
    out = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.7)).convert("RGB")
    return (out, "jpg"), {"object": obj}


def make_noise(rng: np.random.Generator):
    side = int(rng.choice([28, 64, 200, 400]))
    kind = str(rng.choice(["uniform", "gaussian", "salt"]))
    if kind == "uniform":
        img = rng.random((side, side)) * 255
    elif kind == "gaussian":
        img = 128 + rng.standard_normal((side, side)) * float(rng.uniform(20, 70))
    else:
        img = np.where(rng.random((side, side)) < float(rng.uniform(0.02, 0.2)), 0, 235).astype(np.float32)
    return (Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)), "png"), {"noise": kind}


def make_blank_smudge(rng: np.random.Generator):
    """Blank paper with a smudge, a speck or a faint stain, often photo-like."""
    layer, d, s = canvas(rng)
    for _ in range(int(rng.integers(1, 4))):
        x, y, r = rng.uniform(0.2, 0.8) * s, rng.uniform(0.2, 0.8) * s, s * rng.uniform(0.02, 0.15)
        d.ellipse([x - r, y - r * rng.uniform(0.3, 1), x + r, y + r], fill=int(rng.uniform(60, 255)))
    alpha = np.asarray(layer.filter(ImageFilter.GaussianBlur(s * rng.uniform(0.005, 0.04))), np.float32) / 255.0
    return paper_picture(rng, alpha), {}


def icon_files() -> list[Path]:
    """The icon theme's pictures, one per name (its largest size ≥ 48 px), without names that hold digits."""
    largest: dict[str, tuple[int, Path]] = {}
    for path in sorted(ICON_DIR.glob("*x*/*/*.png")):
        size = int(path.parts[-3].split("x")[0])
        if size < 48 or any(c.isdigit() for c in path.name):
            continue
        if size > largest.get(path.name, (0, path))[0]:
            largest[path.name] = (size, path)
    return [largest[name][1] for name in sorted(largest)]


def make_icon(rng: np.random.Generator, icons: list[Path]):
    """An icon of the theme on paper, 60–240 px, somewhere on a larger sheet; photo-like half the time."""
    icon = Image.open(icons[int(rng.integers(len(icons)))]).convert("RGBA")
    side = int(rng.uniform(60, 240))
    icon = icon.resize((side, side), Image.LANCZOS)
    sheet_side = int(side * rng.uniform(1.5, 3))
    paper = tuple(int(v) for v in rng.uniform(215, 250, 3))
    sheet = Image.new("RGBA", (sheet_side, sheet_side), (*paper, 255))
    at = tuple(int(v) for v in rng.integers(0, sheet_side - side + 1, 2))
    sheet.alpha_composite(icon, at)
    gray = np.asarray(sheet.convert("L"), np.float32)
    if rng.random() < 0.5:
        gray = gray + rng.standard_normal(gray.shape) * float(rng.uniform(1, 5))
        picture = Image.fromarray(np.clip(gray, 0, 255).astype(np.uint8))
        return (picture.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.2)))).convert("RGB"), "jpg"), {}
    return (Image.fromarray(gray.astype(np.uint8)), "png"), {}


def fashion_images(split: str = "train") -> np.ndarray | None:
    prefix = "train" if split == "train" else "t10k"
    for name in (f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-images-idx3-ubyte"):
        path = FASHION_DIR / name
        if path.is_file():
            data = path.read_bytes()
            data = gzip.decompress(data) if name.endswith(".gz") else data
            return np.frombuffer(data, np.uint8, offset=16).reshape(-1, 28, 28)
    return None


def make_kind(kind: str, index: int, seed: int, fonts: dict, fashion: np.ndarray | None, icons=None):
    rng = rng_for(seed, kind, index)
    if kind == "icons":
        return make_icon(rng, icons)
    if kind in ("letters", "symbols", "words"):
        return make_text(kind, rng, fonts["train" if kind == "letters" else "held_out"])
    if kind == "fashion":
        picture = fashion[int(rng.integers(len(fashion)))]
        return (Image.fromarray(picture), "png"), {}
    maker = {
        "shapes": make_shape, "faces": make_face, "textures": make_texture, "objects": make_object,
        "noise": make_noise, "blank_smudge": make_blank_smudge,
    }[kind]  # fmt: skip
    return maker(rng)


def generate(out: Path, per_kind: int = DEFAULT_PER_KIND, seed: int = 0, kinds=KINDS) -> dict:
    """Write the pictures and ``kinds.json``; return its content."""
    fonts = {"train": training_fonts(), "held_out": held_out_fonts()}
    fashion, icons = fashion_images("train"), icon_files()
    index = {}
    for kind in kinds:
        if kind == "fashion" and fashion is None:
            print("fashion: skipped (apt-get install dataset-fashion-mnist)", file=sys.stderr)
            continue
        if kind == "icons" and not icons:
            print("icons: skipped (apt-get install adwaita-icon-theme)", file=sys.stderr)
            continue
        folder = out / kind
        folder.mkdir(parents=True, exist_ok=True)
        files = []
        for i in range(per_kind):
            (picture, fmt), params = make_kind(kind, i, seed, fonts, fashion, icons)
            buf = io.BytesIO()
            picture.save(buf, "JPEG", quality=90) if fmt == "jpg" else picture.save(buf, "PNG")
            name = f"{kind}/{i:04d}.{fmt}"
            (out / name).write_bytes(buf.getvalue())
            files.append({"file": name, **params})
        index[kind] = {"role": "tune" if kind in TUNE else "held_out", "files": files}
    (out / "kinds.json").write_text(json.dumps(index, indent=1))
    return index


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=ROOT / "build" / "non-digits")
    p.add_argument("--per-kind", type=int, default=DEFAULT_PER_KIND)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    index = generate(args.out, args.per_kind, args.seed)
    print(f"{sum(len(k['files']) for k in index.values())} pictures in {args.out}/ ({', '.join(index)})")


if __name__ == "__main__":
    main()
