"""Generate deterministic picture sets that imitate real inputs to ``mnist-edge predict`` (issue 12).

    python benchmarks/picture_sets.py --out build/picture-sets [--per-set 200] [--seed 0] [--sets photo,page]

One folder per condition, plus ``labels.json`` ({"photo/0000.jpg": 7, ...}) and ``meta.json`` (per picture:
condition, label, size [w, h], the digit's box [x0, y0, x1, y1) in the picture's pixel coordinates, its
source — an MNIST *test* index or a font file name — and the generation parameters). Same seed, same
Pillow → byte-identical files. numpy + Pillow only.

Conditions:

- ``photo``      phone-photo-like frames (640×480 … 4032×3024) of one handwritten digit on paper: uneven
                 light, vignetting, tinted/ruled/squared paper, table edge or shadow band, noise, blur,
                 rotation ±10°, JPEG 75–95.
- ``page``       a big scanned page (A4/Letter at 300 dpi, 3000×3000) with one small digit (3–8 % of the
                 short side), scan noise, specks, border shadow; PNG and JPEG.
- ``printed``    printed digits in the HELD-OUT fonts only (mnist_edge.fonts), a "1" in every family.
- ``pens``       MNIST digits redrawn with hairline and marker strokes.
- ``lowres``     12–40 px tall pictures, dark-on-light and light-on-dark, off-centre, non-square, JPEG.
- ``mnist_png``  control: MNIST test digits as they are, 28×28 PNG.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import re
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageOps

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mnist_edge.fonts import held_out_fonts

CONDITIONS = ("photo", "page", "printed", "pens", "lowres", "mnist_png")
DEFAULT_PER_SET = 200

PHOTO_SIZES = (  # (w, h, weight); 12 MP is common on phones
    (640, 480, 2),
    (800, 600, 1),
    (1024, 768, 2),
    (1280, 960, 1),
    (1600, 1200, 2),
    (2048, 1536, 1),
    (2592, 1944, 2),
    (3264, 2448, 1),
    (4032, 3024, 2),
)
PAGE_SIZES = ((2480, 3508), (3000, 3000), (2550, 3300), (3508, 2480))
PAPER_TINTS = {
    "white": (246, 246, 243),
    "cream": (243, 234, 210),
    "gray": (214, 214, 212),
    "light_blue": (220, 232, 244),
    "yellowish": (246, 240, 190),
}
INKS = {"blue": (25, 40, 125), "black": (22, 22, 28), "dark_gray": (62, 62, 68), "blue_black": (30, 32, 70)}
LINE_COLORS = {"light_blue": (150, 185, 225), "gray": (175, 175, 180), "blue": (120, 160, 215)}
TABLES = {"dark_wood": (70, 45, 30), "black": (25, 25, 28), "dark_gray": (60, 62, 66), "wood": (120, 85, 55)}


def rng_for(seed: int, condition: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, CONDITIONS.index(condition), index])


def pick_test_indices(n: int, seed: int, condition: str, total: int) -> np.ndarray:
    """n distinct MNIST test indices spread over the whole test set (a seeded permutation)."""
    return np.random.default_rng([seed, 1000 + CONDITIONS.index(condition)]).permutation(total)[:n]


# ----------------------------------------------------------------------------------------------------
# Ink: an MNIST digit as a pen stroke at any size
# ----------------------------------------------------------------------------------------------------


def crop_digit(img28: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(img28 > 30)
    return img28[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def upscale_gray(digit: np.ndarray, height: int, width: int) -> np.ndarray:
    """Smoothly upscale (bicubic) the gray level of a cropped digit to height × width, values in [0, 1]."""
    pad = 2
    padded = np.pad(digit, pad).astype(np.float32) / 255.0
    h, w = digit.shape
    # keep the padding proportional so strokes at the border are not clipped
    sy, sx = height / h, width / w
    big_h, big_w = max(1, round((h + 2 * pad) * sy)), max(1, round((w + 2 * pad) * sx))
    up = np.asarray(Image.fromarray(padded, mode="F").resize((big_w, big_h), Image.BICUBIC), dtype=np.float32)
    return np.clip(up, 0, 1)


def soft_threshold(gray: np.ndarray, level: float, scale: float) -> np.ndarray:
    """Pen-like alpha: a clean edge about 1.5 px wide at the iso-line ``level`` of the smooth gray image."""
    width = float(np.clip(1.5 / max(scale, 1e-3), 0.02, 0.25))
    return np.clip((gray - level) / width + 0.5, 0, 1).astype(np.float32)


def morph(alpha: np.ndarray, steps: int) -> np.ndarray:
    """Dilate (steps > 0) or erode (steps < 0) an alpha mask, alternating square and cross (≈ octagon)."""
    img = Image.fromarray((alpha * 255).astype(np.uint8))
    for k in range(abs(steps)):
        if k % 2 == 0:
            img = img.filter(ImageFilter.MaxFilter(3) if steps > 0 else ImageFilter.MinFilter(3))
        else:
            a = np.asarray(img).astype(np.int16)
            p = np.pad(a, 1, mode="edge")
            stack = [a, p[:-2, 1:-1], p[2:, 1:-1], p[1:-1, :-2], p[1:-1, 2:]]
            a = np.max(stack, axis=0) if steps > 0 else np.min(stack, axis=0)
            img = Image.fromarray(a.astype(np.uint8))
    return np.asarray(img).astype(np.float32) / 255.0


def ink_alpha(img28: np.ndarray, height: int, rng: np.random.Generator, params: dict) -> np.ndarray:
    """Alpha mask (float32, [0, 1]) of the MNIST digit as pen ink, digit about ``height`` px tall."""
    digit = crop_digit(img28)
    h, w = digit.shape
    aspect = w / h * float(rng.uniform(0.9, 1.1))
    height = max(8, int(height))
    width = max(2, round(height * aspect))
    gray = upscale_gray(digit, height, width)
    scale = height / h
    level = float(rng.uniform(0.3, 0.7))
    alpha = soft_threshold(gray, level, scale)
    steps = 0
    if height > 60:
        steps = int(rng.integers(-1, 3)) * max(1, round(height / 150))
        if steps:
            alpha = morph(alpha, steps)
    params.update(ink_level=round(level, 3), ink_morph=steps)
    return alpha


def skeleton(mask: np.ndarray) -> np.ndarray:
    """Zhang–Suen thinning of a boolean mask (vectorised numpy)."""
    img = np.pad(mask.astype(np.uint8), 1)
    changed = True
    while changed:
        changed = False
        for step in (0, 1):
            p = img
            p2, p3, p4 = p[:-2, 1:-1], p[:-2, 2:], p[1:-1, 2:]
            p5, p6, p7 = p[2:, 2:], p[2:, 1:-1], p[2:, :-2]
            p8, p9 = p[1:-1, :-2], p[:-2, :-2]
            nbrs = [p2, p3, p4, p5, p6, p7, p8, p9]
            b = sum(n.astype(np.int16) for n in nbrs)
            seq = nbrs + [p2]
            a = sum(((seq[i] == 0) & (seq[i + 1] == 1)).astype(np.int16) for i in range(8))
            if step == 0:
                c1, c2 = p2 * p4 * p6, p4 * p6 * p8
            else:
                c1, c2 = p2 * p4 * p8, p2 * p6 * p8
            core = p[1:-1, 1:-1]
            remove = (core == 1) & (b >= 2) & (b <= 6) & (a == 1) & (c1 == 0) & (c2 == 0)
            if remove.any():
                core[remove] = 0
                changed = True
    return img[1:-1, 1:-1].astype(bool)


def pen_alpha(img28: np.ndarray, height: int, stroke: float, rng: np.random.Generator) -> np.ndarray:
    """The digit redrawn with a round pen ``stroke`` px wide (rendered at 2× then downsampled)."""
    digit = crop_digit(img28)
    h, w = digit.shape
    ss = 2
    big_h = height * ss
    big_w = max(2, round(big_h * w / h))
    gray = upscale_gray(digit, big_h, big_w)
    skel = skeleton(gray > 0.45)
    radius = max(0.5, stroke * ss / 2)
    steps = max(0, round(radius - 0.5))
    alpha = morph(skel.astype(np.float32), steps) if steps else skel.astype(np.float32)
    img = Image.fromarray((alpha * 255).astype(np.uint8))
    img = img.resize((max(1, img.width // ss), max(1, img.height // ss)), Image.BOX)
    return np.asarray(img).astype(np.float32) / 255.0


# ----------------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------------


def smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int = 6) -> np.ndarray:
    """Low-frequency noise in [-1, 1], h × w (a coarse random grid, bicubic-upscaled)."""
    gh, gw = max(2, cells), max(2, round(cells * w / max(h, 1)))
    grid = rng.uniform(-1, 1, (gh, gw)).astype(np.float32)
    return np.asarray(Image.fromarray(grid, mode="F").resize((w, h), Image.BICUBIC), dtype=np.float32)


def box_of(alpha: np.ndarray, threshold: float = 0.25) -> list[int]:
    ys = np.nonzero((alpha > threshold).any(axis=1))[0]
    xs = np.nonzero((alpha > threshold).any(axis=0))[0]
    return [int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1]


def to_uint8(a: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


EXIF_ORIENTATION = 0x0112
# the transpose that turns an upright picture into what is stored under each EXIF orientation
STORE_AS = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


def encode(img: Image.Image, fmt: str, quality: int | None = None, orientation: int | None = None) -> bytes:
    buf = io.BytesIO()
    if orientation:
        exif = Image.Exif()
        exif[EXIF_ORIENTATION] = orientation
        img.transpose(STORE_AS[orientation]).save(buf, "JPEG", quality=int(quality or 90), exif=exif)
    elif fmt == "jpg":
        img.save(buf, "JPEG", quality=int(quality or 90))
    else:
        img.save(buf, "PNG", compress_level=6)
    return buf.getvalue()


def paste_ink(canvas: np.ndarray, alpha: np.ndarray, x: int, y: int, color, intensity: np.ndarray | None = None):
    """Lerp canvas (H, W, 3 float) toward ``color`` under alpha placed at (x, y)."""
    h, w = alpha.shape
    a = alpha if intensity is None else alpha * intensity
    region = canvas[y : y + h, x : x + w]
    region += (np.asarray(color, np.float32) - region) * a[..., None]


# ----------------------------------------------------------------------------------------------------
# Conditions
# ----------------------------------------------------------------------------------------------------


def low_res_field(rng, W: int, H: int, fn, step: int = 16) -> Image.Image:
    """Evaluate fn(u, v) (coordinates in [0, 1]) on a coarse grid, as an "F" image upscaled to W × H."""
    return Image.fromarray(coarse(W, H, fn, step), mode="F").resize((W, H), Image.BILINEAR)


def coarse(W: int, H: int, fn, step: int = 16) -> np.ndarray:
    gw, gh = max(2, W // step), max(2, H // step)
    yy, xx = np.mgrid[0:gh, 0:gw].astype(np.float32)
    return fn((xx + 0.5) / gw, (yy + 0.5) / gh).astype(np.float32)


def coarse_l(W: int, H: int, fn, step: int = 16, scale: float = 255.0) -> Image.Image:
    """A smooth field fn(u, v) as an L image (values × scale), computed coarsely and upscaled in uint8."""
    small = Image.fromarray(to_uint8(coarse(W, H, fn, step) * scale))
    return small.resize((W, H), Image.BILINEAR)


def field_to_l(field: Image.Image, scale: float = 255.0) -> Image.Image:
    return Image.fromarray(to_uint8(np.asarray(field) * scale))


NOISE_TILE = 509  # prime, so the tiling never lines up with JPEG's 8×8 blocks


def add_noise(img: Image.Image, rng: np.random.Generator, sigma: float, chroma: float = 0.4) -> Image.Image:
    """Gaussian sensor noise (luminance + some chroma), from random tiles of fresh noise."""
    W, H = img.size
    t = min(NOISE_TILE, max(W, H))
    lum = rng.standard_normal((t, t), np.float32) * sigma

    def tiled(arr: np.ndarray) -> Image.Image:
        tile = Image.fromarray(to_uint8(arr + 128))
        out = Image.new("L", (W, H))
        ox, oy = int(rng.integers(0, t)), int(rng.integers(0, t))
        for yy in range(-oy, H, t):
            for xx in range(-ox, W, t):
                out.paste(tile, (xx, yy))
        return out

    if img.mode == "L":
        return ImageChops.add(img, tiled(lum), 1.0, -128)
    bands = []
    for band in img.split():
        ch = lum + rng.standard_normal((t, t), np.float32) * sigma * chroma
        bands.append(ImageChops.add(band, tiled(ch), 1.0, -128))
    return Image.merge("RGB", bands)


def ink_layer(alpha: np.ndarray, rng: np.random.Generator, variation: float) -> Image.Image:
    """The alpha mask as an L image, with a slow variation of ink intensity (pressure, ink flow)."""
    ah, aw = alpha.shape
    intensity = 1.0 - variation * (smooth_noise(rng, ah, aw, 4) * 0.5 + 0.5)
    return Image.fromarray(to_uint8(alpha * intensity * 255))


def perspective_quad(W: int, H: int, tilt: float, rng: np.random.Generator) -> list[tuple[float, float]]:
    """Where the output frame's corners (TL, TR, BR, BL) come from in the scene: a keystone, corners moved inward."""
    d = tilt * min(W, H)
    axis = int(rng.integers(0, 2))
    near = float(rng.uniform(0, 0.3)) * d
    quad = [(0.0, 0.0), (W, 0.0), (W, H), (0.0, H)]
    if axis == 0:  # top edge further away than bottom (or the reverse): a trapezoid in x
        a, b = (d, near) if rng.random() < 0.5 else (near, d)
        quad = [(a, 0.0), (W - a, 0.0), (W - b, H), (b, H)]
    else:
        a, b = (d, near) if rng.random() < 0.5 else (near, d)
        quad = [(0.0, a), (W, b), (W, H - b), (0.0, H - a)]
    return [(x + float(rng.uniform(0, 0.2)) * d * (1 if x < W / 2 else -1), y) for x, y in quad]


def perspective_coeffs(quad, W: int, H: int) -> list[float]:
    """Pillow PERSPECTIVE coefficients mapping output (x, y) → input, output corners (0,0),(W,0),(W,H),(0,H)."""
    dst = [(0, 0), (W, 0), (W, H), (0, H)]
    rows, rhs = [], []
    for (x, y), (u, v) in zip(dst, quad, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rhs.append(u)
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs.append(v)
    return [float(c) for c in np.linalg.solve(np.asarray(rows, float), np.asarray(rhs, float))]


def lay_table(paper: Image.Image, side: str, depth: float, color, tex: np.ndarray, rot) -> Image.Image:
    """``paper`` with a table beyond its edge at ``side``, ``depth`` of the frame deep; ``rot`` maps the
    paper's coordinates (relative to the centre) to the frame's."""
    RW, RH = paper.size
    big = 2 * math.hypot(RW, RH)
    d = depth * (RW if side in ("left", "right") else RH)
    if side == "left":
        poly = [(-big, -big), (-RW / 2 + d, -big), (-RW / 2 + d, big), (-big, big)]
    elif side == "right":
        poly = [(RW / 2 - d, -big), (big, -big), (big, big), (RW / 2 - d, big)]
    elif side == "top":
        poly = [(-big, -big), (big, -big), (big, -RH / 2 + d), (-big, -RH / 2 + d)]
    else:
        poly = [(-big, RH / 2 - d), (big, RH / 2 - d), (big, big), (-big, big)]
    mask = Image.new("L", (RW, RH), 0)
    ImageDraw.Draw(mask).polygon([rot(px, py) for px, py in poly], fill=255)
    wood = Image.merge("RGB", [Image.fromarray(to_uint8(tex * v)).resize((RW, RH), Image.BICUBIC) for v in color])
    return Image.composite(wood, paper, mask)


def make_photo(img28, rng: np.random.Generator, ink_fn=None, max_angle: float = 10.0):
    """A phone photo of one handwritten digit on paper.

    ``ink_fn(height, rng, params, room) -> alpha`` draws something else than ``img28`` as the ink (a whole
    number, ``number_sets.py``): ``height`` is the digit height chosen for the photo, ``room`` the largest
    (width, height) the ink may have; ``max_angle``:
    the scene's rotation is uniform in ±that many degrees. With the defaults the output is unchanged.

    The scene is rendered at a reduced size (the camera's optical softness: 1×–2.5× below the frame size)
    and upscaled to the frame, then sensor noise and JPEG are applied at full size. The whole scene (paper
    lines, digit, table edge) is rotated by ``angle``; light, vignetting and shadow are camera-relative.
    """
    sizes = [(w, h) for w, h, _ in PHOTO_SIZES]
    weights = np.array([wt for _, _, wt in PHOTO_SIZES], float)
    W, H = sizes[rng.choice(len(sizes), p=weights / weights.sum())]
    if rng.random() < 0.3:
        W, H = H, W  # portrait
    S = min(W, H)
    frac = float(rng.uniform(0.05, 0.35))
    angle = float(rng.uniform(-max_angle, max_angle))
    tint = str(rng.choice(list(PAPER_TINTS)))
    ink = str(rng.choice(list(INKS)))
    softness = float(rng.uniform(0.5, 1.6)) * S / 1000  # optical blur in frame pixels
    k = max(1.0, softness)
    RW, RH = round(W / k), round(H / k)
    RS = min(RW, RH)
    params = {"digit_frac": round(frac, 3), "angle": round(angle, 2), "paper": tint, "ink": ink}
    params["render_scale"] = round(k, 3)

    paper = np.asarray(PAPER_TINTS[tint], np.float32) + rng.uniform(-6, 6, 3).astype(np.float32)
    scene = Image.new("RGB", (RW, RH), tuple(int(v) for v in to_uint8(paper)))
    cx, cy = RW / 2, RH / 2
    ca, sa = math.cos(math.radians(angle)), math.sin(math.radians(angle))

    def rot(px: float, py: float) -> tuple[float, float]:
        """Paper coordinates (relative to the centre) → frame coordinates; counter-clockwise like Image.rotate."""
        return cx + px * ca + py * sa, cy - px * sa + py * ca

    # ruled lines or squared grid, in their colour already blended with the paper
    lines = str(rng.choice(["none", "ruled", "ruled", "grid"], p=[0.3, 0.25, 0.2, 0.25]))
    params["lines"] = lines
    if lines != "none":
        draw = ImageDraw.Draw(scene)
        spacing = RS / float(rng.uniform(10, 28)) if lines == "ruled" else RS / float(rng.uniform(14, 40))
        thick = max(1, round(spacing / float(rng.uniform(18, 40))))
        lc = LINE_COLORS[str(rng.choice(list(LINE_COLORS)))]
        strength = float(rng.uniform(0.5, 0.95))
        col = tuple(int(v) for v in to_uint8(paper + (np.asarray(lc, np.float32) - paper) * strength))
        reach = math.hypot(RW, RH)
        for c in np.arange(-reach / 2 + float(rng.uniform(0, spacing)), reach / 2, spacing):
            draw.line([rot(-reach, float(c)), rot(reach, float(c))], fill=col, width=thick)
        if lines == "grid":
            for c in np.arange(-reach / 2 + float(rng.uniform(0, spacing)), reach / 2, spacing):
                draw.line([rot(float(c), -reach), rot(float(c), reach)], fill=col, width=thick)
        elif rng.random() < 0.4:  # red margin line
            c = -RW / 2 + float(rng.uniform(0.08, 0.2)) * RW
            red = tuple(int(v) for v in to_uint8(paper + (np.array([225, 90, 100], np.float32) - paper) * strength))
            draw.line([rot(c, -reach), rot(c, reach)], fill=red, width=thick + 1)
            params["margin_line"] = True
        params.update(
            line_spacing=round(spacing * k, 1), line_width=thick, line_color=lc, line_strength=round(strength, 2)
        )

    # the table beyond the paper's edge, at one side, at the scene's angle
    table = None
    if rng.random() < 0.3:
        side = str(rng.choice(["left", "right", "top", "bottom"]))
        depth = float(rng.uniform(0.04, 0.18))
        tcol = str(rng.choice(list(TABLES)))
        table = (side, depth)
        params["table"] = {"side": side, "depth": round(depth, 3), "color": tcol}
        tex = rng.uniform(0.85, 1.15, (max(2, RH // 24), max(2, RW // 24)))
        paper_only = scene
        scene = lay_table(paper_only, side, depth, TABLES[tcol], tex, rot)

    # the digit, rotated with the scene, fully inside the frame and clear of the table
    if ink_fn is None:
        alpha = ink_alpha(img28, round(frac * RS), rng, params)
    else:  # the number's row must fit the frame, whatever it is rotated by
        alpha = ink_fn(round(frac * RS), rng, params, (0.85 * RW, 0.6 * RH))
    mask = ink_layer(alpha, rng, float(rng.uniform(0.05, 0.25))).rotate(angle, resample=Image.BICUBIC, expand=True)
    mw, mh = mask.size
    margin = 0.03 * RS
    clear = table is None
    for _attempt in range(200):
        x = int(rng.integers(int(margin), max(int(margin) + 1, int(RW - margin - mw))))
        y = int(rng.integers(int(margin), max(int(margin) + 1, int(RH - margin - mh))))
        if table is None:
            break
        side, depth = table
        lim = depth * (RW if side in ("left", "right") else RH) * 1.3 + 0.02 * RS
        gap = {"left": x, "right": RW - x - mw, "top": y, "bottom": RH - y - mh}[side]
        if gap > lim:
            clear = True
            break
    if not clear:  # a wide row finds no place clear of the table: ink is never on the table, so narrow it
        side, _ = table
        x = int(margin) if side == "right" else max(int(margin), int(RW - margin - mw))
        y = int(margin) if side == "bottom" else max(int(margin), int(RH - margin - mh))
        gap = {"left": x, "right": RW - x - mw, "top": y, "bottom": RH - y - mh}[side]
        depth = (gap - 0.02 * RS) / (1.3 * (RW if side in ("left", "right") else RH))
        if depth >= 0.01:
            scene = lay_table(paper_only, side, depth, TABLES[tcol], tex, rot)
            params["table"]["depth"] = round(depth, 3)
        else:
            scene = paper_only
            del params["table"]
        params["table_narrowed"] = True
    ink_color = tuple(int(v) for v in to_uint8(np.asarray(INKS[ink], np.float32) + rng.uniform(-10, 10, 3)))
    scene.paste(ink_color, (x, y, x + mw, y + mh), mask)
    layer = Image.new("L", (RW, RH), 0)
    layer.paste(mask, (x, y))
    # the phone is not held exactly parallel to the paper: a mild keystone (perspective) in 60 % of photos
    if rng.random() < 0.6:
        tilt = float(rng.uniform(0.01, 0.06))
        quad = perspective_quad(RW, RH, tilt, rng)
        coeffs = perspective_coeffs(quad, RW, RH)
        warped = layer.transform((RW, RH), Image.PERSPECTIVE, coeffs, Image.BILINEAR)
        # keep it only if the whole digit stays in the frame
        if np.asarray(warped, np.float32).sum() > 0.8 * np.asarray(layer, np.float32).sum() and warped.getbbox():
            scene = scene.transform((RW, RH), Image.PERSPECTIVE, coeffs, Image.BICUBIC)
            layer = warped
            params["keystone"] = round(tilt, 3)
    mb = box_of(np.asarray(layer, np.float32) / 255.0 / max(alpha.max(), 1e-3))
    box = [
        max(0, math.floor(mb[0] * W / RW)),
        max(0, math.floor(mb[1] * H / RH)),
        min(W, math.ceil(mb[2] * W / RW)),
        min(H, math.ceil(mb[3] * H / RH)),
    ]
    del layer

    # light: a tilted plane × vignetting × paper texture × optional shadow band, times a white balance
    gx, gy = rng.uniform(-1, 1, 2)
    strength = float(rng.uniform(0.1, 0.4))
    vig = float(rng.uniform(0.1, 0.45))
    texture_amp = float(rng.uniform(0.01, 0.03))
    grid_noise = rng.uniform(-1, 1, (8, 8)).astype(np.float32)
    shadow = None
    if rng.random() < 0.3:
        shadow = (
            str(rng.choice(["left", "right", "top", "bottom"])),
            float(rng.uniform(0.1, 0.35)),
            float(rng.uniform(0.45, 0.75)),
            float(rng.uniform(0.01, 0.06)),
        )
        params["shadow"] = {"side": shadow[0], "depth": round(shadow[1], 3), "level": round(shadow[2], 3)}

    def light_fn(u, v):
        light = 1 - strength * (0.5 + 0.5 * (gx * (u - 0.5) + gy * (v - 0.5)))
        light = light * (1 - vig * (((u - 0.5) * 2) ** 2 + ((v - 0.5) * 2) ** 2) / 2)
        small = np.asarray(Image.fromarray(grid_noise, mode="F").resize(u.shape[::-1], Image.BICUBIC))
        light = light * (1 + texture_amp * small)
        if shadow is not None:
            side, depth, dark, soft = shadow
            dist = {"left": depth - u, "right": u - (1 - depth), "top": depth - v, "bottom": v - (1 - depth)}[side]
            light = light * (1 - (1 - dark) * np.clip(dist / soft + 0.5, 0, 1))
        return light

    light = coarse(RW, RH, light_fn, 8)
    wb = 1 + rng.uniform(-0.06, 0.06, 3)
    wb = wb / wb.max()
    light_rgb = Image.merge(
        "RGB", [Image.fromarray(to_uint8(light * float(c) * 255)).resize((RW, RH), Image.BILINEAR) for c in wb]
    )
    scene = ImageChops.multiply(scene, light_rgb)
    del light_rgb
    params.update(light_gradient=round(strength, 3), vignetting=round(vig, 3), paper_texture=round(texture_amp, 3))
    if k > 1:
        frame = scene.resize((W, H), Image.BICUBIC)
    else:
        frame = scene.filter(ImageFilter.GaussianBlur(max(0.3, softness)))
    del scene
    sigma = float(rng.uniform(2, 7))
    frame = add_noise(frame, rng, sigma)
    quality = int(rng.integers(75, 96))
    params.update(blur=round(softness, 2), noise=round(sigma, 2), jpeg_quality=quality)
    return frame, box, "jpg", quality, params


def make_page(img28, rng: np.random.Generator):
    """A scanned page (A4/Letter at 300 dpi, 3000×3000) with one small handwritten digit somewhere."""
    W, H = PAGE_SIZES[int(rng.integers(len(PAGE_SIZES)))]
    S = min(W, H)
    frac = float(rng.uniform(0.03, 0.08))
    fmt = "png" if rng.random() < 0.4 else "jpg"
    gray = rng.random() < 0.5  # many scanners write grayscale
    ink = str(rng.choice(["black", "blue", "blue_black"]))
    params = {"digit_frac": round(frac, 4), "format": fmt, "grayscale": gray, "ink": ink}
    base = int(rng.uniform(242, 255)) if fmt == "jpg" else 255
    mode = "L" if gray else "RGB"
    paper = base if gray else (base, base, base - int(rng.integers(0, 4)))
    page = Image.new(mode, (W, H), paper)
    alpha = ink_alpha(img28, round(frac * S), rng, params)
    ah, aw = alpha.shape
    x = int(rng.integers(int(0.05 * W), W - aw - int(0.05 * W)))
    y = int(rng.integers(int(0.05 * H), H - ah - int(0.05 * H)))
    # the scanner's optics soften the ink a little
    mask = ink_layer(alpha, rng, 0.15).filter(ImageFilter.GaussianBlur(float(rng.uniform(0.4, 0.9))))
    color = INKS[ink]
    page.paste(round(sum(color) / 3) if gray else color, (x, y, x + aw, y + ah), mask)
    bx = box_of(alpha)
    box = [bx[0] + x, bx[1] + y, bx[2] + x, bx[3] + y]
    # faint shadow along one border (the scanner lid / page edge)
    if rng.random() < 0.5:
        side = str(rng.choice(["left", "right", "top", "bottom"]))
        width = float(rng.uniform(0.005, 0.03))
        level = float(rng.uniform(0.08, 0.3))
        fn = {
            "left": lambda u, v: 1 - level * np.exp(-u / width),
            "right": lambda u, v: 1 - level * np.exp(-(1 - u) / width),
            "top": lambda u, v: 1 - level * np.exp(-v / width),
            "bottom": lambda u, v: 1 - level * np.exp(-(1 - v) / width),
        }[side]
        shade = coarse_l(W, H, fn, 4)
        page = ImageChops.multiply(page, shade if gray else Image.merge("RGB", [shade] * 3))
        params["border_shadow"] = {"side": side, "width": round(width, 4), "level": round(level, 3)}
    # a few specks of dust
    specks = int(rng.integers(0, 8))
    draw = ImageDraw.Draw(page)
    for _ in range(specks):
        sx, sy = int(rng.integers(0, W)), int(rng.integers(0, H))
        if box[0] - 20 <= sx <= box[2] + 20 and box[1] - 20 <= sy <= box[3] + 20:
            continue
        rad = float(rng.uniform(0.8, 3.5))
        v = int(rng.integers(60, 180))
        draw.ellipse([sx - rad, sy - rad, sx + rad, sy + rad], fill=v if gray else (v, v, v))
    params["specks"] = specks
    if fmt == "jpg":
        sigma = float(rng.uniform(1, 3.5))
        page = add_noise(page, rng, sigma, chroma=0.2)
        params["noise"] = round(sigma, 2)
    quality = int(rng.integers(80, 96)) if fmt == "jpg" else None
    if quality:
        params["jpeg_quality"] = quality
    return page, box, fmt, quality, params


def font_family(font: Path) -> str:
    """ "LiberationSans-BoldItalic.ttf" → "LiberationSans"; "FreeSerifBoldItalic.ttf" → "FreeSerif"."""
    return re.sub(r"(Bold|Oblique|Italic)+$", "", font.stem.split("-")[0])


def font_plan(n: int, fonts: list[Path], rng: np.random.Generator) -> list[tuple[Path, int]]:
    """(font, digit) for n printed pictures: a "1" in every font family (regular and bold), then cycling."""
    families: dict[str, list[Path]] = {}
    for f in fonts:
        families.setdefault(font_family(f), []).append(f)
    plan = []
    for fam in sorted(families):
        members = families[fam]
        bold = [f for f in members if "Bold" in f.stem or "Bd" in f.stem or "Demi" in f.stem]
        regular = [f for f in members if f not in bold and "Italic" not in f.stem and "Oblique" not in f.stem]
        regular.sort(key=lambda f: (not re.search(r"(Regular|Roman|Book)$", f.stem) and "-" in f.stem, f.name))
        plan.append((regular[0] if regular else members[0], 1))
        if bold:
            plan.append((bold[0], 1))
    order = rng.permutation(len(fonts))
    k = 0
    while len(plan) < n:
        plan.append((fonts[order[k % len(fonts)]], k % 10))
        k += 1
    return plan[:n]


def make_printed(font: Path, digit: int, rng: np.random.Generator):
    H = int(rng.choice([28, 40, 64, 96, 128, 200, 300, 480]) * rng.uniform(0.9, 1.1))
    W = max(12, round(H * float(rng.uniform(0.6, 1.6))))
    frac = float(rng.uniform(0.10, 0.60))
    angle = float(rng.uniform(-8, 8)) if rng.random() < 0.35 else 0.0
    photo = rng.random() < 0.2
    fmt = "jpg" if photo or rng.random() < 0.4 else "png"
    ink = int(rng.integers(0, 60))
    paper = int(rng.integers(225, 256))
    params = {"digit_frac": round(frac, 3), "angle": round(angle, 2), "photo": photo, "ink": ink, "paper": paper}
    # render big, measure the glyph, scale to the wanted height
    target = max(10.0, frac * H)  # never a speck: at least 10 px tall
    probe = ImageFont.truetype(str(font), 200)
    _, y0, _, y1 = probe.getbbox(str(digit))
    size = max(4, round(200 * target / max(1, y1 - y0)))
    ss = 4 if H < 100 else 2
    f = ImageFont.truetype(str(font), size * ss)
    gx0, gy0, gx1, gy1 = f.getbbox(str(digit))
    gw, gh = gx1 - gx0, gy1 - gy0
    pad = max(gw, gh)
    layer = Image.new("L", (gw + 2 * pad, gh + 2 * pad), 0)
    ImageDraw.Draw(layer).text((pad - gx0, pad - gy0), str(digit), font=f, fill=255)
    if angle:
        layer = layer.rotate(angle, resample=Image.BICUBIC)
    lb = layer.getbbox()
    layer = layer.crop(lb)
    lw, lh = max(1, round(layer.width / ss)), max(1, round(layer.height / ss))
    layer = layer.resize((lw, lh), Image.LANCZOS)
    if lw > W - 2 or lh > H - 2:  # wide glyphs in narrow frames: widen the frame
        W = max(W, lw + 4)
        H = max(H, lh + 4)
    x = int(rng.integers(0, W - lw + 1))
    y = int(rng.integers(0, H - lh + 1))
    # centre-ish more often than not
    if rng.random() < 0.6:
        x, y = (W - lw) // 2, (H - lh) // 2
    alpha = np.zeros((H, W), np.float32)
    alpha[y : y + lh, x : x + lw] = np.asarray(layer, np.float32) / 255.0
    img = paper + (ink - paper) * alpha
    if photo:
        yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
        gx, gy = rng.uniform(-1, 1, 2)
        img = img * (1 - 0.25 * (0.5 + 0.5 * (gx * (xx / W - 0.5) + gy * (yy / H - 0.5))))
        img = img + rng.standard_normal((H, W)).astype(np.float32) * float(rng.uniform(1.5, 5))
        rgb = np.stack([img * float(rng.uniform(0.95, 1.05)) for _ in range(3)], axis=-1)
        out = Image.fromarray(to_uint8(rgb)).filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.0)) * H / 300))
    else:
        out = Image.fromarray(to_uint8(img))
        if rng.random() < 0.3:
            out = out.convert("RGB")
    quality = int(rng.integers(75, 96)) if fmt == "jpg" else None
    params.update(size_px=size, frame=[W, H])
    return out, box_of(alpha), fmt, quality, params


def make_pens(img28, rng: np.random.Generator):
    H = int(rng.integers(100, 401))
    W = max(60, round(H * float(rng.uniform(0.8, 1.3))))
    frac = float(rng.uniform(0.4, 0.75))
    height = round(frac * H)
    kind = "hairline" if rng.random() < 0.5 else "marker"
    stroke = float(rng.uniform(0.012, 0.03)) * height if kind == "hairline" else float(rng.uniform(0.2, 0.32)) * height
    stroke = max(1.0, stroke)
    alpha = pen_alpha(img28, height, stroke, rng)
    ah, aw = alpha.shape
    if aw > W - 4:
        W = aw + 8
    x = int(rng.integers(2, max(3, W - aw - 1)))
    y = int(rng.integers(2, max(3, H - ah - 1)))
    paper = float(rng.uniform(235, 255))
    ink = str(rng.choice(list(INKS) + ["black", "black"]))
    canvas = np.empty((H, W, 3), np.float32)
    canvas[:] = paper
    paste_ink(canvas, alpha, x, y, np.asarray(INKS[ink], np.float32))
    canvas += rng.standard_normal((H, W, 1)).astype(np.float32) * float(rng.uniform(0.5, 3))
    fmt = "png" if rng.random() < 0.5 else "jpg"
    quality = int(rng.integers(80, 96)) if fmt == "jpg" else None
    full = np.zeros((H, W), np.float32)
    full[y : y + ah, x : x + aw] = alpha
    params = {"pen": kind, "stroke_px": round(stroke, 2), "digit_height": height, "ink": ink}
    return Image.fromarray(to_uint8(canvas)), box_of(full), fmt, quality, params


def make_lowres(img28, rng: np.random.Generator):
    H = int(rng.integers(12, 41))
    W = max(8, round(H * float(rng.uniform(0.6, 1.5))))
    fill = float(rng.uniform(0.7, 0.95))
    digit = crop_digit(img28)
    h, w = digit.shape
    dh = max(6, round(fill * H))
    dw = max(2, min(W, round(dh * w / h * float(rng.uniform(0.85, 1.15)))))
    # render at 8× with a pen-like threshold, then downsample (antialiased, like a camera or a scaler would)
    big = upscale_gray(digit, dh * 8, dw * 8)
    level = float(rng.uniform(0.25, 0.55))
    alpha = soft_threshold(big, level, 8 * dh / h)
    small = Image.fromarray((alpha * 255).astype(np.uint8)).resize((dw + 1, dh + 1), Image.BOX)
    a = np.asarray(small, np.float32) / 255.0
    ah, aw = a.shape
    W = max(W, aw)
    H = max(H, ah)
    off = rng.random() < 0.5
    if off:
        x, y = int(rng.integers(0, W - aw + 1)), int(rng.integers(0, H - ah + 1))
    else:
        x, y = (W - aw) // 2, (H - ah) // 2
    full = np.zeros((H, W), np.float32)
    full[y : y + ah, x : x + aw] = a
    dark_on_light = rng.random() < 0.6
    bg, fg = (float(rng.uniform(190, 255)), float(rng.uniform(0, 70)))
    if not dark_on_light:
        bg, fg = float(rng.uniform(0, 60)), float(rng.uniform(180, 255))
    img = bg + (fg - bg) * full + rng.standard_normal((H, W)).astype(np.float32) * float(rng.uniform(0, 6))
    fmt = "jpg" if rng.random() < 0.4 else "png"
    quality = int(rng.integers(30, 85)) if fmt == "jpg" else None
    out = Image.fromarray(to_uint8(img))
    if rng.random() < 0.3:
        out = out.convert("RGB")
    params = {"dark_on_light": dark_on_light, "off_centre": off, "fill": round(fill, 3), "ink_level": round(level, 3)}
    return out, box_of(full), fmt, quality, params


# ----------------------------------------------------------------------------------------------------


def load_test_set(data=None):
    """The MNIST test images and labels (``data`` as for ``mnist-edge train --data``)."""
    from mnist_edge.training.data import load_mnist

    m = load_mnist(data)
    return m.x_test, m.y_test


def generate(
    out: Path, per_set: int = DEFAULT_PER_SET, seed: int = 0, sets=CONDITIONS, data=None, verbose=True
) -> dict:
    """Write the sets under ``out``; return {"labels": ..., "meta": ...}."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    x_test, y_test = load_test_set(data)
    labels: dict[str, int] = {}
    meta: dict[str, dict] = {}
    fonts = held_out_fonts()
    for cond in sets:
        t0 = time.perf_counter()
        folder = out / cond
        folder.mkdir(exist_ok=True)
        indices = pick_test_indices(per_set, seed, cond, len(x_test))
        plan = font_plan(per_set, fonts, rng_for(seed, cond, 10**6)) if cond == "printed" else None
        if cond == "printed" and not fonts:
            raise SystemExit("no held-out fonts installed: apt-get install the packages in mnist_edge/fonts.py")
        nbytes = 0
        for i in range(per_set):
            rng = rng_for(seed, cond, i)
            source: dict
            if cond == "printed":
                font, label = plan[i]
                img, box, fmt, quality, params = make_printed(font, label, rng)
                source = {"font": font.name}
            else:
                idx = int(indices[i])
                img28, label = x_test[idx], int(y_test[idx])
                source = {"mnist_test_index": idx}
                if cond == "mnist_png":
                    img, box, fmt, quality, params = Image.fromarray(img28), box_of(img28 / 255.0), "png", None, {}
                else:
                    maker = {"photo": make_photo, "page": make_page, "pens": make_pens, "lowres": make_lowres}[cond]
                    img, box, fmt, quality, params = maker(img28, rng)
            rel = f"{cond}/{i:04d}.{fmt}"
            exif = None
            if cond == "photo" and rng.random() < 0.15:
                # stored sideways with an EXIF Orientation tag, as phones do; size and box are as displayed
                orientation = int(rng.choice([6, 8, 3]))
                params["exif_orientation"] = orientation
                exif = orientation
            data_bytes = encode(img, fmt, quality, exif)
            (out / rel).write_bytes(data_bytes)
            nbytes += len(data_bytes)
            labels[rel] = label
            meta[rel] = {
                "condition": cond,
                "label": label,
                "size": [img.width, img.height],
                "mode": img.mode,
                "box": box,
                "source": source,
                "params": params,
            }
        if verbose:
            print(
                f"{cond:10s} {per_set:4d} pictures  {nbytes / 1e6:7.1f} MB  {time.perf_counter() - t0:6.1f} s",
                flush=True,
            )
    # merge with what is already there (generating a subset of sets keeps the others' labels)
    for name, new in (("labels.json", labels), ("meta.json", meta)):
        p = out / name
        old = json.loads(p.read_text()) if p.exists() else {}
        old = {k: v for k, v in old.items() if k.split("/")[0] not in sets}
        old.update(new)
        p.write_text(json.dumps(dict(sorted(old.items())), indent=1, sort_keys=True) + "\n")
    return {"labels": labels, "meta": meta}


def contact_sheet(out: Path, path: Path, per_set: int = 8, thumb: int = 160) -> None:
    """A PNG with the first ``per_set`` pictures of each set, the digit's box drawn in red."""
    meta = json.loads((out / "meta.json").read_text())
    conds = [c for c in CONDITIONS if any(k.startswith(c + "/") for k in meta)]
    sheet = Image.new("RGB", (per_set * thumb, len(conds) * thumb), "white")
    for r, cond in enumerate(conds):
        keys = sorted(k for k in meta if k.startswith(cond + "/"))[:per_set]
        for c, k in enumerate(keys):
            im = ImageOps.exif_transpose(Image.open(out / k)).convert("RGB")
            ImageDraw.Draw(im).rectangle(meta[k]["box"], outline=(255, 0, 0), width=max(1, im.width // 300))
            im.thumbnail((thumb - 4, thumb - 4), Image.LANCZOS if im.width > thumb else Image.NEAREST)
            if im.width < thumb // 2:
                f = (thumb - 4) // max(im.width, im.height)
                im = im.resize((im.width * f, im.height * f), Image.NEAREST)
            sheet.paste(im, (c * thumb + 2, r * thumb + 2))
            ImageDraw.Draw(sheet).text((c * thumb + 4, r * thumb + 2), str(meta[k]["label"]), fill=(255, 0, 0))
    sheet.save(path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--per-set", type=int, default=DEFAULT_PER_SET)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sets", default=",".join(CONDITIONS), help="comma-separated subset of " + ",".join(CONDITIONS))
    p.add_argument("--data", default=None, help="MNIST data (default: $MNIST_EDGE_DATA, as mnist-edge train)")
    p.add_argument("--contact-sheet", type=Path, default=None, help="also write a contact sheet PNG here")
    a = p.parse_args(argv)
    sets = tuple(s for s in a.sets.split(",") if s)
    unknown = set(sets) - set(CONDITIONS)
    if unknown:
        p.error(f"unknown sets: {sorted(unknown)}")
    t0 = time.perf_counter()
    generate(a.out, a.per_set, a.seed, sets, a.data)
    print(f"wrote {a.out} in {time.perf_counter() - t0:.1f} s")
    if a.contact_sheet:
        contact_sheet(a.out, a.contact_sheet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
