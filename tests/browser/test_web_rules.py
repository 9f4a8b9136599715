"""The page's preprocessing follows the runtime's rules for unusual pictures, as read_digit does.

Each picture here exercises one rule of the Python runtime that preprocess.js ports: light ink on a
transparent canvas (decode._over_white composites it on black), a tiny digit enlarged block by block
(normalize.native_pixels reads it at its own size), a picture of a few pixels a side
(normalize.whole_picture_digit enlarges it with OpenCV's cubic first) and a digit in a frame
(locate._unframed reads the strokes inside a box, a circle, a form's row of boxes), a digit cut out
to its box (preprocess._filled: the whole picture is read as the digit too), and a number written across
the frame (locate._score: several strokes clear of the edges are not frame-sized; the page reads one
digit: the row is compared as that one reading), and a digit in thin chalk on a dark board
(locate.ink_side: the reduced picture's tails too short to say which side the ink is on). The browser decodes
each file as the page does; Python reads the same file with ``read_digit``. The ported functions are
also checked one by one against OpenCV and the runtime's. On 200 12×12 digits of other_pictures.py, 13
tensors differ by more than 1/255 (IPP's cubic, a level apart on a few pixels, moves the threshold);
the digits here stay within it; ``web_parity.py --other`` is the wide check.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnist_edge.runtime import Predictor

ROOT = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("web_parity", ROOT / "benchmarks" / "web_parity.py")
web_parity = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(web_parity)

pytestmark = pytest.mark.browser

N = 12  # real MNIST test digits per rule
RULES = ["transparent/", "clear/", "tiny/", "blocky/", "framed/", "across/", "board/"]
# digits cut out to their box: labels agree; one tensor of the 12 does not (a "1" narrower than its
# picture's polarity test allows, read as a degenerate piece: both cut the same box, then differ)
LABEL_RULES = RULES + ["tight/"]
PAPER, INK = 235, 30


def _framed(digits: list[np.ndarray], kind: int) -> np.ndarray:
    """Real MNIST digits (84 px) in dark ink on 480×300 paper, in a drawn box (kind 0), a circle (1), a
    form's row of boxes (2), or with a face beside them (3: a circle holding small marks is no frame)."""
    canvas = np.full((300, 480), PAPER, np.float32)
    x0, y0, cell = 130, 100, 90
    for k, digit in enumerate(digits):
        ink = cv2.resize(digit, (84, 84), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
        box = canvas[y0 + 3 : y0 + 87, x0 + k * cell + 3 : x0 + k * cell + 87]
        box[:] = box * (1 - ink) + INK * ink
    picture = Image.fromarray(canvas.astype(np.uint8))
    draw = ImageDraw.Draw(picture)
    right = x0 + len(digits) * cell
    if kind == 1:
        draw.ellipse([x0 - 30, y0 - 30, right + 30, y0 + cell + 30], outline=60, width=3)
    elif kind == 3:
        draw.ellipse([20, 20, 110, 110], outline=INK, width=4)
        draw.ellipse([45, 50, 55, 60], fill=INK)
        draw.ellipse([75, 50, 85, 60], fill=INK)
    else:
        draw.rectangle([x0 - 4, y0 - 4, right + 2, y0 + cell + 2], outline=60, width=2)
        for k in range(1, len(digits)):
            draw.line([x0 + k * cell - 2, y0 - 4, x0 + k * cell - 2, y0 + cell + 2], fill=60, width=2)
    return np.asarray(picture)


def _across(digits: list[np.ndarray]) -> np.ndarray:
    """Real MNIST digits (84 px tall, cut to their ink's columns, 8 px apart: one group of strokes) in a row
    across 0.85 of the frame's width, clear of its edges, with a sliver of a table's rim near the right
    edge (locate._score: several strokes clear of the edges are a number, not frame-sized)."""
    cell, gap = 84, 8
    inks = []
    for digit in digits:
        cols = np.flatnonzero((digit > 30).any(axis=0))
        ink = cv2.resize(digit, (cell, cell), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
        inks.append(ink[:, cols[0] * 3 : (cols[-1] + 1) * 3])
    row = sum(a.shape[1] for a in inks) + gap * (len(inks) - 1)
    canvas = np.full((2 * cell, round(row / 0.85)), PAPER, np.float32)
    x = (canvas.shape[1] - row) // 2
    for ink in inks:
        box = canvas[cell // 2 : cell // 2 + cell, x : x + ink.shape[1]]
        box[:] = box * (1 - ink) + INK * ink
        x += ink.shape[1] + gap
    canvas[cell // 2 : cell, -6:-3] = INK
    return canvas.astype(np.uint8)


def _board(digit: np.ndarray) -> np.ndarray:
    """A real MNIST digit in light chalk, 48 px tall, on a 400×300 dark board darker towards its corners: too
    thin to reach the reduced picture's 99th percentile, whose tails are the board's noise (locate.ink_side).
    The picture is the working image itself: a digit this small in a larger one is cropped from a finer
    view, where the page's tensor and Python's differ for any ink (a gap left for later)."""
    h, w = 300, 400
    yy, xx = np.mgrid[0:h, 0:w]
    board = 40 - 12 * (((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2) / 2
    ink = cv2.resize(digit, (48, 48), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    y, x = 126, 200
    board[y : y + 48, x : x + 48] = board[y : y + 48, x : x + 48] * (1 - ink) + 225 * ink
    return board.astype(np.uint8)


def _cut_out(digit: np.ndarray, zoom: int) -> np.ndarray:
    """A real MNIST digit cut out to its ink's box, enlarged, dark on white: it fills its picture."""
    rows, cols = np.flatnonzero((digit > 30).any(axis=1)), np.flatnonzero((digit > 30).any(axis=0))
    ink = digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return 255 - cv2.resize(ink, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_CUBIC)


def _save(folder: Path, name: str, pixels: np.ndarray, labels: dict, label: int) -> None:
    (folder / name).parent.mkdir(exist_ok=True)
    Image.fromarray(pixels).save(folder / name)  # gray, or RGBA when it has four channels
    labels[name] = label


@pytest.fixture(scope="module")
def readings(tmp_path_factory, mnist) -> dict[str, tuple[dict, dict, int]]:
    """{name: (Python's reading, the browser's reading, label)} for pictures that need each rule."""
    folder = tmp_path_factory.mktemp("web-rules")
    labels: dict[str, int] = {}
    for n, i in enumerate(range(7, 10000, 10000 // N)[:N]):
        digit, label = mnist.x_test[i], int(mnist.y_test[i])
        white = np.full((28, 28), 255, np.uint8)
        # white strokes on a transparent canvas (blank on white): the ink is the alpha channel
        _save(folder, f"transparent/{n:02d}.png", np.dstack([white, white, white, digit]), labels, label)
        # dark strokes on a transparent canvas: still composited on white
        black = np.zeros_like(white)
        _save(folder, f"clear/{n:02d}.png", np.dstack([black, black, black, digit]), labels, label)
        side = (8, 10, 12)[n % 3]
        tiny = cv2.resize(255 - digit, (side, side), interpolation=cv2.INTER_AREA)  # dark on white
        _save(folder, f"tiny/{n:02d}.png", tiny, labels, label)
        k = 128 // side  # a tiny digit enlarged block by block, as a pixel-art export does
        _save(folder, f"blocky/{n:02d}.png", np.kron(tiny, np.ones((k, k), np.uint8)), labels, label)
        row = [mnist.x_test[i + j] for j in range(3)] if n % 4 == 2 else [digit]
        _save(folder, f"framed/{n:02d}.png", _framed(row, n % 4), labels, label)
        _save(folder, f"tight/{n:02d}.png", _cut_out(digit, 4 + 2 * (n % 3)), labels, label)
        _save(folder, f"across/{n:02d}.png", _across([mnist.x_test[i + j] for j in range(4)]), labels, label)
        _save(folder, f"board/{n:02d}.png", _board(digit), labels, label)
    names = list(labels)
    with web_parity.browser_page(folder) as page:
        js = web_parity.read_in_browser(page, names)
    py = web_parity.read_in_python(folder, names, whole=True)
    return {n: (p, j, labels[n]) for n, p, j in zip(names, py, js, strict=True)}


def _pairs(readings, prefix: str) -> list[tuple[str, dict, dict]]:
    chosen = [(n, p, j) for n, (p, j, _) in readings.items() if n.startswith(prefix)]
    assert len(chosen) == N
    return chosen


def _labels(readings, prefix: str) -> tuple[list, list]:
    predictor = Predictor()
    pairs = _pairs(readings, prefix)
    return web_parity.labels_of(predictor, [p for _, p, _ in pairs]), web_parity.labels_of(
        predictor, [j for _, _, j in pairs]
    )


@pytest.mark.parametrize("prefix", RULES)
def test_the_page_reads_python_tensors_and_boxes(readings, prefix):
    for name, py, js in _pairs(readings, prefix):
        assert py["reason"] is None and js["reason"] is None, (name, js["reason"])
        assert js["box"] == py["box"], name
        # the cubic enlargement of a tiny picture: OpenCV's (Intel IPP's) rounds ≈ 0.5 % of pixels one level apart
        assert float(np.abs(py["pixels"] - js["pixels"]).max()) <= 1 / 255, name


def test_only_a_picture_too_small_for_the_threshold_is_tiny_as_in_python(readings):
    for name, (py, js, _) in readings.items():
        assert js["tiny"] == py["tiny"], name
    assert {py["tiny"] for name, (py, _, _) in readings.items() if name.startswith("tiny/")} == {True}


@pytest.mark.parametrize("prefix", LABEL_RULES)
def test_the_page_gives_python_labels(readings, prefix):
    py_labels, js_labels = _labels(readings, prefix)
    assert js_labels == py_labels


def test_a_digit_that_fills_its_picture_is_read_whole_as_python_reads_it(readings):
    wholes = 0
    for name, (py, js, _) in readings.items():
        assert (py["whole"] is None) == (js["whole"] is None), name
        if py["whole"] is None:
            continue
        wholes += 1
        assert js["whole"]["box"] == py["whole"]["box"] and js["whole"]["first"] == py["whole"]["first"], name
        assert float(np.abs(py["whole"]["pixels"] - js["whole"]["pixels"]).max()) <= 1 / 255, name
    tight = [n for n in readings if n.startswith("tight/")]
    assert sum(readings[n][0]["whole"] is not None for n in tight) >= N // 2  # the rule is exercised
    assert wholes < 2 * N  # …and not on every picture (a framed digit, a tiny one: no whole reading)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """The parity page, for calling preprocess.js's functions directly."""
    with web_parity.browser_page(tmp_path_factory.mktemp("web-functions")) as page:
        yield page


def _call(page, function: str, calls: list[tuple]) -> list[np.ndarray | None]:
    """preprocess.js's ``function`` on each (8-bit gray array, *arguments); its gray results as arrays."""
    script = """async ([name, calls]) => {
      const m = await import("/preprocess.js");
      return calls.map(([w, h, data, args]) => {
        const r = m[name]({ w, h, data: Uint8Array.from(data) }, ...args);
        return r && [r.w, r.h, Array.from(r.data)];
      });
    }"""
    calls = [[a.shape[1], a.shape[0], a.ravel().tolist(), list(args)] for a, *args in calls]
    out = page.evaluate(script, [function, calls])
    return [None if r is None else np.array(r[2], np.uint8).reshape(r[1], r[0]) for r in out]


def test_cubic_enlargement_is_opencvs_within_one_level(page):
    rng = np.random.default_rng(12)
    arrays = [rng.integers(0, 256, tuple(rng.integers(1, 24, 2)), dtype=np.uint8) for _ in range(120)]
    calls = [(a, a.shape[1] * k, a.shape[0] * k) for a in arrays for k in [-(-32 // max(a.shape))]]  # as enlarged
    found = _call(page, "resizeCubic", calls)
    ipp = cv2.ipp.useIPP()
    differ = {}
    try:
        for use_ipp in (True, False):  # cv2 hands INTER_CUBIC to Intel IPP when it may
            cv2.ipp.setUseIPP(use_ipp)
            gaps = [
                np.abs(js.astype(int) - cv2.resize(a, size, interpolation=cv2.INTER_CUBIC))
                for (a, *size), js in zip(calls, found, strict=True)
            ]
            assert max(int(g.max()) for g in gaps) <= 1
            differ[use_ipp] = sum(int((g > 0).sum()) for g in gaps) / sum(g.size for g in gaps)
    finally:
        cv2.ipp.setUseIPP(ipp)
    assert differ[True] <= 0.02  # measured: 0.5 % of pixels one level apart from IPP's cubic
    assert differ[False] <= 1e-4  # OpenCV's own cubic: 8 of 236,638 pixels on such arrays


def test_native_pixels_finds_what_python_finds(page):
    from mnist_edge.runtime.normalize import native_pixels

    rng = np.random.default_rng(3)
    tiny = rng.integers(0, 256, (8, 6), dtype=np.uint8)
    tiny[:2, :2] = 255
    blocky = np.kron(tiny, np.ones((12, 12), np.uint8))
    off = blocky.copy()
    off[50, 40] ^= 1  # one pixel off: not an enlargement
    smooth = cv2.resize(tiny, (72, 96), interpolation=cv2.INTER_CUBIC)
    paper = np.full((300, 400), 255, np.uint8)
    paper[100:140, 200:230] = rng.integers(0, 256, (40, 30), dtype=np.uint8)
    wide = np.kron(rng.integers(0, 256, (3, 40), dtype=np.uint8), np.ones((4, 4), np.uint8))  # 160×12: k=4 only
    arrays = [blocky, tiny, off, smooth, paper, wide]
    for a, js in zip(arrays, _call(page, "nativePixels", [(a, 64) for a in arrays]), strict=True):
        py = native_pixels(a, 64)
        assert (js is None) == (py is None)
        assert py is None or np.array_equal(js, py)
    assert _call(page, "nativePixels", [(blocky, 64)])[0].shape == (8, 6)


def test_paper_spread_and_stroke_kernel_are_pythons(page, mnist):
    from mnist_edge.runtime.locate import paper_spread, stroke_kernel

    rng = np.random.default_rng(5)
    arrays = [_cut_out(mnist.x_test[i], z) for i, z in ((0, 4), (1, 8), (2, 6))]
    arrays += [np.clip(rng.normal(200, s, (90, 120)), 0, 255).astype(np.uint8) for s in (1, 5, 20)]
    arrays += [_framed([mnist.x_test[3]], 0), 255 - arrays[1], np.full((40, 50), 128, np.uint8)]
    script = """async (arrays) => {
      const m = await import("/preprocess.js");
      return arrays.map(([w, h, data]) => {
        const img = { w, h, data: Uint8Array.from(data) };
        return [m.paperSpread(img), m.strokeKernel(img)];
      });
    }"""
    found = page.evaluate(script, [[a.shape[1], a.shape[0], a.ravel().tolist()] for a in arrays])
    assert found == [[paper_spread(a), stroke_kernel(a)] for a in arrays]
    assert {k for _, k in found} != {0}  # some strokes measured


def _masks() -> list[np.ndarray]:
    """Ink masks (255 on 0) with frames: a form's row of three boxes holding four strokes, a box holding a
    ring with a dot, a face (a circle holding small marks: no frame) and strokes in no frame at all."""
    form = np.zeros((60, 200), np.uint8)
    cv2.rectangle(form, (5, 5), (185, 50), 255, 2)
    for x in (65, 125):
        cv2.line(form, (x, 5), (x, 50), 255, 2)
    for (x, top), bottom in zip([(30, 20), (90, 10), (150, 15), (40, 12)], (45, 45, 45, 30), strict=True):
        cv2.line(form, (x, top), (x + 2, bottom), 255, 2)
    ring = np.zeros((60, 120), np.uint8)
    cv2.rectangle(ring, (60, 3), (100, 55), 255, 2)
    cv2.circle(ring, (80, 30), 12, 255, 2)
    cv2.circle(ring, (80, 30), 2, 255, -1)
    cv2.line(ring, (10, 10), (12, 50), 255, 2)
    face = np.zeros((80, 80), np.uint8)
    cv2.circle(face, (40, 40), 30, 255, 2)
    for x in (30, 50):
        cv2.circle(face, (x, 32), 3, 255, -1)
    loose = np.zeros((40, 60), np.uint8)
    cv2.line(loose, (10, 5), (12, 35), 255, 2)
    cv2.circle(loose, (40, 20), 10, 255, 2)
    return [form, ring, face, loose]


def test_frames_give_way_to_what_they_hold_in_opencvs_order(page):
    from mnist_edge.runtime.locate import _unframed

    script = """async (masks) => {
      const m = await import("/preprocess.js");
      return masks.map(([w, h, data]) =>
        m.unframedContours({ w, h, data: Uint8Array.from(data) }, 0).map((c) => Array.from(c)));
    }"""
    masks = _masks()
    js = page.evaluate(script, [[a.shape[1], a.shape[0], a.ravel().tolist()] for a in masks])
    for mask, found in zip(masks, js, strict=True):
        contours, hierarchy = cv2.findContours(mask, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
        assert found == [c.reshape(-1).tolist() for c in _unframed(contours, hierarchy)]
    assert len(js[0]) == 4 and len(js[2]) == 1  # the form gave way to its four strokes; the face stayed
