"""Prove the page's preprocessing (mnist_edge/web/static/preprocess.js) equals the runtime's (issue 15).

    python benchmarks/web_parity.py [--out build/web-parity] [--mnist 10000] [--drawn 200] [--photos 200] [--other 0]

Writes the first ``--mnist`` MNIST test digits as 28×28 PNGs, ``--drawn`` others (the last of the test set)
as the page's drawing canvas holds a digit (dark on white, 280×280), and ``--photos`` pictures of the picture
benchmark's ``photo`` condition (``benchmarks/picture_sets.py``: phone-photo-like JPEGs, 640×480 … 4032×3024),
then reads every picture twice (the drawn digits a third time, as the page reads its pad: at half size,
each pixel a 2×2 mean by the canvas's scaling, then preprocess.js; compared by label with Python's
full-size reading), and ``--other`` pictures of each single-digit kind of ``benchmarks/other_pictures.py``
(8×8 to 12×12 digits, 8×8 enlarged block by block, a digit in a box or a circle, white ink on a
transparent canvas; seed 0):

- Python: ``mnist_edge.runtime.read_digit(path)`` (Pillow decodes; JPEGs in libjpeg's draft mode);
- the page path in headless Chromium: the browser decodes the file (``createImageBitmap``), a canvas gives
  the ``ImageData``, ``preprocessImageData`` from preprocess.js turns it into 784 floats.

Both tensors go through the shipped int8 model in Python's onnxruntime (the same model the page runs in
onnxruntime-web), so label differences come from preprocessing only. Reported, each beside its target: the
largest |tensor difference| on the MNIST PNGs (≤ 1/255), label agreement on MNIST PNGs (100 %) and on the
photos (≥ 99 %), the time preprocess.js takes per picture in the browser (the decode excluded; a drawn
digit's budget is 5 ms with inference) beside Python's ``read_digit`` per picture in the same run. Figures go to ``benchmarks/web_parity.json``.

Chromium is the system one (Debian's ``chromium`` package, ``/usr/bin/chromium`` or $MNIST_EDGE_CHROMIUM), driven by
Playwright (the ``browser`` extra; no ``playwright install``).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.server
import json
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from harness import CHROMIUM_ARGS  # noqa: E402 - the flags that keep Chromium off the network, as the tests use

MODULE = ROOT / "mnist_edge" / "web" / "static" / "preprocess.js"
DEFAULT_OUT = ROOT / "build" / "web-parity"
DEFAULT_JSON = Path(__file__).resolve().parent / "web_parity.json"
MAX_TENSOR_DIFF = 1 / 255
MNIST_AGREEMENT = 1.0
PHOTO_AGREEMENT = 0.99
CHUNK = 200  # pictures per call into the page

# The page the browser runs: decode a picture file the way the page does, time preprocess.js alone.
HARNESS = """<!doctype html><meta charset="utf-8"><title>preprocess.js parity</title>
<script type="module">
import { preprocessImageData } from "/preprocess.js";
async function imageDataOf(url, half = false) {
  const blob = await (await fetch(url)).blob();
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  if (!half) return ctx.getImageData(0, 0, bitmap.width, bitmap.height);
  // as app.js's readPad reads the drawing pad: half size, the canvas's bilinear scaling (2×2 means)
  const [w, h] = [bitmap.width >> 1, bitmap.height >> 1];
  const small = new OffscreenCanvas(w, h).getContext("2d", { willReadFrequently: true });
  small.imageSmoothingEnabled = true;
  small.imageSmoothingQuality = "low";
  small.drawImage(canvas, 0, 0, w, h);
  return small.getImageData(0, 0, w, h);
}
function b64(floats) {
  const bytes = new Uint8Array(floats.buffer, floats.byteOffset, floats.byteLength);
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return btoa(s);
}
window.readAll = async (urls, half = false) => {
  const out = [];
  for (const url of urls) {
    const imageData = await imageDataOf(url, half);
    const t0 = performance.now();
    const r = preprocessImageData(imageData);
    const ms = performance.now() - t0;
    const whole = r.whole && { pixels: b64(r.whole.tensor), box: r.whole.box, first: r.whole.first };
    out.push({ pixels: r.pixels && b64(r.pixels), box: r.box, reason: r.reason, ms, whole, tiny: r.tiny,
               size: [imageData.width, imageData.height] });
  }
  return out;
};
window.timeOne = async (url, n) => {  // the same picture n times: ms per run
  const imageData = await imageDataOf(url);
  const ms = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    preprocessImageData(imageData);
    ms.push(performance.now() - t0);
  }
  return ms;
};
window.ready = true;
</script>"""


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves the harness page at /, preprocess.js at /preprocess.js and the pictures under /pictures/."""

    pictures: Path = Path(".")

    def do_GET(self):  # noqa: N802 (the standard library's name)
        path = self.path.split("?")[0]
        if path == "/":
            body, kind = HARNESS.encode(), "text/html"
        elif path == "/preprocess.js":
            body, kind = MODULE.read_bytes(), "text/javascript"
        elif path.startswith("/pictures/") and ".." not in path:
            file = self.pictures / path[len("/pictures/") :]
            if not file.is_file():
                self.send_error(404)
                return
            body, kind = file.read_bytes(), "application/octet-stream"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def chromium_path() -> str:
    path = os.environ.get("MNIST_EDGE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise SystemExit("no Chromium: apt-get install chromium (or set MNIST_EDGE_CHROMIUM to its executable)")
    return path


@contextlib.contextmanager
def browser_page(pictures: Path):
    """A headless Chromium page with the harness loaded, serving ``pictures``; yields the Playwright page."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise SystemExit("Playwright is missing: pip install -e '.[browser]'") from None
    handler = type("Handler", (_Handler,), {"pictures": pictures})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile, sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                profile, executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
            )
            try:
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(f"http://127.0.0.1:{server.server_port}/")
                try:
                    page.wait_for_function("window.ready === true", timeout=30_000)
                except Exception:
                    raise RuntimeError(
                        f"the harness page did not load: {'; '.join(errors) or 'no error reported'}"
                    ) from None
                yield page
            finally:
                context.close()
    finally:
        server.shutdown()
        server.server_close()


def read_in_browser(page, names: list[str], half: bool = False) -> list[dict]:
    """preprocess.js on each picture (names relative to the served folder): pixels as float32, box, reason, ms,
    whole (None, or the whole picture's reading: pixels, box, first), tiny (too small for the card's threshold).

    ``half``: the picture read as the page reads its drawing pad, at half size (the canvas's 2×2 means)."""
    out = []
    for i in range(0, len(names), CHUNK):
        urls = [f"/pictures/{n}" for n in names[i : i + CHUNK]]
        for r in page.evaluate("([urls, half]) => window.readAll(urls, half)", [urls, half]):
            pixels = r["pixels"]
            r["pixels"] = None if pixels is None else np.frombuffer(base64.b64decode(pixels), np.float32).copy()
            if r["whole"] is not None:
                r["whole"]["pixels"] = np.frombuffer(base64.b64decode(r["whole"]["pixels"]), np.float32).copy()
            out.append(r)
    return out


def read_in_python(folder: Path, names: list[str], whole: bool = False) -> list[dict]:
    """read_digit on each picture file, as ``mnist-edge predict`` reads it (pixels, box, reason, tiny); with
    ``whole``, also the whole picture's reading of ``read_digits`` (``preprocess.Digits.whole``): None, or
    its pixels, box, first."""
    from mnist_edge.runtime import ImageError, read_digit
    from mnist_edge.runtime.preprocess import read_digits

    out = []
    for name in names:
        t0 = time.perf_counter()
        try:
            reading = read_digit(folder / name)
            r = {"pixels": reading.tensor, "box": list(reading.box), "reason": None, "tiny": reading.tiny}
        except ImageError as e:
            r = {"pixels": None, "box": None, "reason": e.reason, "tiny": False}
        r["ms"] = (time.perf_counter() - t0) * 1000
        if whole:
            found = read_digits(folder / name)
            w = found.whole
            r["whole"] = w and {"pixels": w.tensor, "box": list(w.box), "first": found.whole_first}
        out.append(r)
    return out


def repeated_ms(page, folder: Path, name: str, n: int = 200) -> dict:
    """Median ms of preprocess.js and of Python's read_digit (decode excluded) on one picture, n runs each."""
    from PIL import Image

    from mnist_edge.runtime import read_digit

    js = page.evaluate("([url, n]) => window.timeOne(url, n)", [f"/pictures/{name}", n])
    gray = np.asarray(Image.open(folder / name).convert("L"))
    py = []
    for _ in range(n):
        t0 = time.perf_counter()
        read_digit(gray)
        py.append((time.perf_counter() - t0) * 1000)
    return {"picture": name, "runs": n, "js_ms_median": float(np.median(js)), "python_ms_median": float(np.median(py))}


def labels_of(predictor, readings: list[dict]) -> list[int | None]:
    """The model's label for each reading (None where no digit was found)."""
    have = [i for i, r in enumerate(readings) if r["pixels"] is not None]
    labels: list[int | None] = [None] * len(readings)
    if have:
        probs = predictor.probabilities(np.stack([readings[i]["pixels"] for i in have]))
        for i, p in zip(have, probs, strict=True):
            labels[i] = int(np.argmax(p))
    return labels


def write_mnist_pngs(folder: Path, n: int, data=None) -> dict[str, int]:
    """The first ``n`` MNIST test digits as 28×28 gray PNGs under ``folder``; {relative name: label}."""
    from PIL import Image

    from mnist_edge.training.data import load_mnist

    m = load_mnist(data)
    folder.mkdir(parents=True, exist_ok=True)
    labels = {}
    for i in range(n):
        name = f"mnist/{i:05d}.png"
        path = folder / name
        if not path.exists():
            path.parent.mkdir(exist_ok=True)
            Image.fromarray(m.x_test[i]).save(path)
        labels[name] = int(m.y_test[i])
    return labels


def write_drawn_pngs(folder: Path, n: int, data=None, side: int = 280) -> dict[str, int]:
    """``n`` MNIST test digits (from the end of the set) as the page's drawing canvas holds them: dark strokes
    on white, ``side`` px square (the 28×28 digit scaled up bilinearly); {relative name: label}."""
    from PIL import Image

    from mnist_edge.training.data import load_mnist

    m = load_mnist(data)
    (folder / "drawn").mkdir(parents=True, exist_ok=True)
    labels = {}
    for k in range(n):
        i = len(m.x_test) - 1 - k
        name = f"drawn/{i:05d}.png"
        if not (folder / name).exists():
            big = Image.fromarray(255 - m.x_test[i]).resize((side, side), Image.Resampling.BILINEAR)
            big.save(folder / name)
        labels[name] = int(m.y_test[i])
    return labels


def photo_pictures(folder: Path, n: int, data=None) -> dict[str, int]:
    """``n`` pictures of the picture benchmark's photo condition under ``folder``; {relative name: label}."""
    import picture_sets

    labels_file = folder / "labels.json"
    labels = json.loads(labels_file.read_text()) if labels_file.exists() else {}
    names = sorted(k for k in labels if k.startswith("photo/"))
    if len(names) < n or not all((folder / k).exists() for k in names[:n]):
        labels = picture_sets.generate(folder, n, sets=("photo",), data=data, verbose=False)["labels"]
        names = sorted(labels)
    return {k: labels[k] for k in names[:n]}


def other_pictures(folder: Path, n: int, data=None) -> dict[str, int]:
    """``n`` pictures of each single-digit kind of benchmarks/other_pictures.py (seed 0) under ``folder``
    as files ("other/<kind>/<k>.png" or ".jpg"); {relative name: label}."""
    import other_pictures as other

    from mnist_edge.training.data import load_mnist

    m = load_mnist(data)
    labels = {}
    for kind, pictures in other.kinds(m.x_test, m.y_test, np.random.default_rng(0), n).items():
        slug = "".join(c if c.isalnum() else "-" for c in kind.replace("×", "x"))
        for k, (encoded, label) in enumerate(pictures):
            if len(label) > 1:
                continue  # a number in a row of boxes: the page reads one digit
            ext = "jpg" if encoded.startswith(b"\xff\xd8") else "png"
            name = f"other/{slug}/{k:03d}.{ext}"
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(encoded)
            labels[name] = int(label)
    return labels


def compare(py: list[dict], js: list[dict], py_labels, js_labels, truth: list[int]) -> dict:
    """Figures for one set of pictures read both ways."""
    both = [i for i in range(len(py)) if py[i]["pixels"] is not None and js[i]["pixels"] is not None]
    diffs = [float(np.abs(py[i]["pixels"] - js[i]["pixels"]).max()) for i in both]
    agree = sum(py_labels[i] == js_labels[i] for i in range(len(py)))  # None == None: both found no digit
    js_ms = np.array([r["ms"] for r in js])
    py_ms = np.array([r["ms"] for r in py])
    return {
        "n": len(py),
        "label_agreement": agree / len(py),
        "label_disagreements": [i for i in range(len(py)) if py_labels[i] != js_labels[i]],
        "max_tensor_diff": max(diffs, default=0.0),
        "tensors_within_1_255": sum(d <= MAX_TENSOR_DIFF + 1e-7 for d in diffs) / max(len(diffs), 1),
        "same_box": sum(py[i]["box"] == js[i]["box"] for i in range(len(py))) / len(py),
        "same_no_digit": sum((py[i]["reason"] is None) == (js[i]["reason"] is None) for i in range(len(py))) / len(py),
        "accuracy_python": sum(label == t for label, t in zip(py_labels, truth, strict=True)) / len(py),
        "accuracy_js": sum(label == t for label, t in zip(js_labels, truth, strict=True)) / len(py),
        "js_ms_mean": float(js_ms.mean()),
        "js_ms_p95": float(np.percentile(js_ms, 95)),
        "python_ms_mean": float(py_ms.mean()),
    }


def run(
    out: Path, n_mnist: int, n_photos: int, n_drawn: int = 0, data=None, verbose: bool = True, n_other: int = 0
) -> dict:
    """Both readings of each set, compared: {"mnist_png": figures, "drawn": …, "photo": …, "other": …}."""
    from mnist_edge.runtime import Predictor

    predictor = Predictor()
    sets = {}
    if n_mnist:
        sets["mnist_png"] = write_mnist_pngs(out, n_mnist, data)
    if n_drawn:
        sets["drawn"] = write_drawn_pngs(out, n_drawn, data)
    if n_photos:
        sets["photo"] = photo_pictures(out, n_photos, data)
    if n_other:
        sets["other"] = other_pictures(out, n_other, data)
    results = {}
    with browser_page(out) as page:
        page.evaluate("window.readAll([])")  # warm the module up once
        for name, labels in sets.items():
            names = list(labels)
            t0 = time.perf_counter()
            js = read_in_browser(page, names)
            t1 = time.perf_counter()
            py = read_in_python(out, names)
            t2 = time.perf_counter()
            py_labels, js_labels = labels_of(predictor, py), labels_of(predictor, js)
            figures = compare(py, js, py_labels, js_labels, list(labels.values()))
            figures["disagreeing_files"] = [names[i] for i in figures.pop("label_disagreements")]
            figures["wall_s"] = {"browser": round(t1 - t0, 1), "python": round(t2 - t1, 1)}
            if name == "other":
                figures["per_kind"] = per_kind(names, py_labels, js_labels)
            if name == "drawn":
                figures["repeated"] = repeated_ms(page, out, names[0])
                figures["pad_half"] = pad_half(read_in_browser(page, names, half=True), py, predictor, labels)
            results[name] = figures
            if verbose:
                print(f"{name}: {len(names)} pictures read in the browser and in Python", flush=True)
    return results


def per_kind(names: list[str], py_labels: list, js_labels: list) -> dict[str, float]:
    """Label agreement for each kind of picture ("other/<kind>/…")."""
    kinds: dict[str, list[bool]] = {}
    for name, a, b in zip(names, py_labels, js_labels, strict=True):
        kinds.setdefault(name.split("/")[1], []).append(a == b)
    return {k: sum(v) / len(v) for k, v in kinds.items()}


def pad_half(js_half: list[dict], py: list[dict], predictor, labels: dict[str, int]) -> dict:
    """The drawn digits read as the page reads its pad (half size) against Python's full-size reading."""
    half_labels = labels_of(predictor, js_half)
    py_labels = labels_of(predictor, py)
    ms = np.array([r["ms"] for r in js_half])
    return {
        "n": len(js_half),
        "size": js_half[0]["size"] if js_half else None,
        "label_agreement_with_python_full_size": sum(a == b for a, b in zip(half_labels, py_labels, strict=True))
        / len(js_half),
        "accuracy": sum(a == t for a, t in zip(half_labels, labels.values(), strict=True)) / len(js_half),
        "js_ms_mean": float(ms.mean()),
        "js_ms_p95": float(np.percentile(ms, 95)),
    }


def report(results: dict) -> list[str]:
    """The figures, each beside its target."""
    lines = []
    m = results.get("mnist_png")
    if m:
        lines += [
            f"MNIST PNGs ({m['n']}): max |tensor difference| {m['max_tensor_diff']:.2e}  (target ≤ {1 / 255:.2e})",
            f"MNIST PNGs: label agreement {m['label_agreement']:.2%}  (target 100%)",
        ]
    d = results.get("drawn")
    if d:
        lines += [
            f"drawn digits ({d['n']}, 280×280): label agreement {d['label_agreement']:.2%},"
            f" max |tensor difference| {d['max_tensor_diff']:.2e}",
            f"drawn digits: preprocess.js {d['js_ms_mean']:.2f} ms per digit (p95 {d['js_ms_p95']:.2f})"
            "  (budget ≤ 5 ms per drawn digit with inference)",
        ]
        if "pad_half" in d:
            h = d["pad_half"]
            lines.append(
                f"drawn digits read as the page reads its pad ({h['size'][0]}×{h['size'][1]}): label agreement with"
                f" Python's full-size reading {h['label_agreement_with_python_full_size']:.2%}, accuracy"
                f" {h['accuracy']:.2%}, preprocess.js {h['js_ms_mean']:.2f} ms per digit (p95 {h['js_ms_p95']:.2f})"
            )
        if "repeated" in d:
            r = d["repeated"]
            lines.append(
                f"one drawn digit {r['runs']} times: preprocess.js median {r['js_ms_median']:.2f} ms,"
                f" Python read_digit median {r['python_ms_median']:.2f} ms (decode excluded)"
            )
    p = results.get("photo")
    if p:
        lines += [
            f"photos ({p['n']}): label agreement {p['label_agreement']:.2%}  (target ≥ 99%);"
            f" tensors within 1/255: {p['tensors_within_1_255']:.1%}, same box {p['same_box']:.1%}",
        ]
    o = results.get("other")
    if o:
        kinds = ", ".join(f"{k} {v:.0%}" for k, v in o["per_kind"].items())
        lines.append(f"other pictures ({o['n']}): label agreement {o['label_agreement']:.2%} ({kinds})")
    for name, r in results.items():
        lines.append(
            f"{name}: preprocess.js {r['js_ms_mean']:.2f} ms per picture (p95 {r['js_ms_p95']:.2f}) in the browser,"
            f" Python read_digit {r['python_ms_mean']:.2f} ms (decode included), same run"
        )
        lines.append(f"{name}: accuracy {r['accuracy_python']:.2%} (Python) / {r['accuracy_js']:.2%} (page)")
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the pictures (reused when present)")
    p.add_argument("--mnist", type=int, default=10000, help="MNIST test digits as PNGs (first N)")
    p.add_argument("--photos", type=int, default=200, help="pictures of the photo condition")
    p.add_argument("--drawn", type=int, default=200, help="MNIST digits as drawn on the page's 280×280 canvas")
    p.add_argument("--other", type=int, default=0, help="pictures of each kind of benchmarks/other_pictures.py")
    p.add_argument("--data", default=None, help="MNIST data (default: $MNIST_EDGE_DATA, as mnist-edge train)")
    p.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = p.parse_args(argv)
    results = run(args.out, args.mnist, args.photos, args.drawn, args.data, n_other=args.other)
    for line in report(results):
        print(line)
    doc = {
        "command": "python benchmarks/web_parity.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "model": "mnist_edge/runtime/models/model.int8.onnx, run in Python onnxruntime on both tensors",
        "targets": {
            "max_tensor_diff": MAX_TENSOR_DIFF,
            "mnist_agreement": MNIST_AGREEMENT,
            "photo_agreement": PHOTO_AGREEMENT,
        },
        "results": results,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    tmp = args.json.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(args.json)
    ok = (
        not results.get("mnist_png")
        or (
            results["mnist_png"]["max_tensor_diff"] <= MAX_TENSOR_DIFF + 1e-7
            and results["mnist_png"]["label_agreement"] >= MNIST_AGREEMENT
        )
    ) and (not results.get("photo") or results["photo"]["label_agreement"] >= PHOTO_AGREEMENT)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
