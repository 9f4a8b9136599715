"""This tree's preprocess.js against another revision's, interleaved in headless Chromium on the same pictures.

    python benchmarks/web_speed_against.py [--ref main] [--runs 15] [--data DIR]

Both modules load in one page (the other revision's ``mnist_edge/web/static/preprocess.js`` from
``git show``); each picture is decoded once by the browser (``createImageBitmap``, as the page does) and
read ``--runs`` times by each module, alternating which goes first. Printed per picture: the median
time of each, their ratio (this tree over the other) and whether both gave the same tensor; then the
median ratio over all pictures and over those read the same way (a change of answer changes the work). Pictures: photo-like digits (320, 640, 1024 px JPEGs), a digit as drawn on
the page's 280×280 pad, and one of each kind of ``other_pictures.py``. Speed is a ratio within one
run: the machine's load moves too much between runs for absolute times to compare.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

import harness  # noqa: E402
import other_pictures  # noqa: E402

from mnist_edge.photo_like import photo_of_digit  # noqa: E402
from mnist_edge.training.data import load_mnist  # noqa: E402

PAGE = """<!doctype html><meta charset="utf-8"><title>preprocess.js against another revision</title>
<script type="module">
import * as ref from "/ref.js";
import * as here from "/here.js";
const median = (v) => v.sort((a, b) => a - b)[v.length >> 1];
function time(m, img) { const t = performance.now(); const r = m.preprocessImageData(img); return [performance.now() - t, r]; }
window.compare = async (url, runs) => {
  const bitmap = await createImageBitmap(await (await fetch(url)).blob(),
                                         { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  const ctx = new OffscreenCanvas(bitmap.width, bitmap.height).getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  const img = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
  const [a, b] = [[], []];
  let same = true;
  for (let i = 0; i < runs; i++) {
    const order = i % 2 ? [[here, b], [ref, a]] : [[ref, a], [here, b]];
    const out = order.map(([m, times]) => { const [ms, r] = time(m, img); times.push(ms); return r; });
    same &&= JSON.stringify(Array.from(out[0].pixels ?? [])) === JSON.stringify(Array.from(out[1].pixels ?? []));
  }
  return { size: [img.width, img.height], ref: median(a), here: median(b), same };
};
window.ready = true;
</script>"""


def pictures(folder: Path, data=None) -> list[str]:
    """The pictures, written under ``folder``; their names."""
    m = load_mnist(data)
    rng = np.random.default_rng(1)
    names = []
    for size in (320, 640, 1024):
        i = int(rng.integers(10000))
        photo_of_digit(m.x_test[i], size=size, offset=(10, -5), paper=220).save(folder / f"photo{size}.jpg", quality=90)
        names.append(f"photo{size}.jpg")
    Image.fromarray(255 - m.x_test[5]).resize((280, 280), Image.BILINEAR).save(folder / "drawn.png")
    names.append("drawn.png")
    for kind, made in other_pictures.kinds(m.x_test, m.y_test, np.random.default_rng(0), 4).items():
        encoded = made[0][0]
        name = "".join(c if c.isalnum() else "-" for c in kind.replace("×", "x"))
        name += ".jpg" if encoded.startswith(b"\xff\xd8") else ".png"
        (folder / name).write_bytes(encoded)
        names.append(name)
    return names


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ref", default="main", help="the revision to compare against")
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--data", default=None, help="MNIST data (default: $MNIST_EDGE_DATA, as mnist-edge train)")
    a = p.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ref = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{a.ref}:mnist_edge/web/static/preprocess.js"],
            capture_output=True,
            check=True,
        ).stdout
        (folder / "ref.js").write_bytes(ref)
        (folder / "here.js").write_bytes((ROOT / "mnist_edge/web/static/preprocess.js").read_bytes())
        (folder / "index.html").write_text(PAGE)
        names = pictures(folder, a.data)
        ratios, unchanged = [], []
        with sync_playwright() as pw, harness.static_server(folder) as url:
            browser = harness.launch(pw)
            page = browser.new_page()
            page.goto(url)
            page.wait_for_function("() => window.ready === true")
            for name in names:
                r = page.evaluate("([u, n]) => window.compare(u, n)", [f"/{name}", a.runs])
                ratios.append(r["here"] / r["ref"])
                if r["same"]:
                    unchanged.append(ratios[-1])
                print(
                    f"{name:<44} {r['size'][0]}×{r['size'][1]:<5} {a.ref} {r['ref']:7.2f} ms  this tree"
                    f" {r['here']:7.2f} ms  ratio {ratios[-1]:.2f}  same tensor {r['same']}"
                )
            browser.close()
    print(f"median ratio (this tree / {a.ref}) {float(np.median(ratios)):.2f} over {len(ratios)} pictures")
    if unchanged:  # where both read the same tensor: the same work, or a slower path to it
        print(f"… over the {len(unchanged)} pictures read the same way: {float(np.median(unchanged)):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
