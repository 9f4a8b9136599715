"""The web page in headless Chromium: time to the first answer, per-digit latency, page weight.

    python benchmarks/browser_page.py [--loads 3] [--draws 20] [--threads 1] [--out benchmarks/browser_page.json]

Serves a fresh static bundle (`mnist-edge web`, shipped int8 model) from a local server with the
COOP/COEP headers `serve` sends, opens it in the system Chromium (tests/browser/harness.py), and
reads the page's own clocks (performance.now(), from navigation start):
- ready: the model loaded and warmed up (one run), from navigation start; a first visit (fresh
  profile) and a revisit (same profile: the browser's cache and compiled-WASM cache); on the first
  visit also when the .wasm finished downloading and when the session was created;
- first digit: the first drawn digit's answer after ready, and each following one: preprocessing
  (reading the canvas's pixels, the pad at half size, then preprocess.js → 784 floats; the reading
  alone is readMs) + the model, as the page shows it;
- a photo-like picture (240 px JPEG) the same way;
- each drawn digit again, then read and preprocessed 50 times more inside the page, as the page reads
  its pad (half size) and at the pad's full 280×280: medians and their ratio, steadier than single draws;
- page weight: bytes over the wire per file (Resource Timing), and what gzip -9 would send.
Timings on a shared machine are noisy: read them as orders of magnitude and ratios within one run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

import harness
import numpy as np
from playwright.sync_api import sync_playwright

from mnist_edge.photo_like import photo_of_digit
from mnist_edge.runtime import shipped_model_path
from mnist_edge.training.data import load_path
from mnist_edge.web import write_bundle

DIGITS = sorted(harness.STROKES)


def timings(page) -> dict:
    return page.evaluate("window.mnistEdge.timings")


def weight(page, site: Path) -> dict:
    entries = page.evaluate(
        "performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
        ".map(e => [new URL(e.name).pathname, e.transferSize, e.encodedBodySize])"
    )
    files = {}
    for path, transfer, body in entries:
        name = path.lstrip("/") or "index.html"
        files[name] = {"transfer": transfer, "body": body, "gzip": len(gzip.compress((site / name).read_bytes(), 9))}
    return {
        "files": files,
        "transfer_bytes": sum(f["transfer"] for f in files.values()),
        "gzip_bytes": sum(f["gzip"] for f in files.values()),
    }


def summary(values: list[float]) -> dict:
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 2),
        "p90": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 2),
        "max": round(ordered[-1], 2),
        "n": len(ordered),
    }


# In the page: its own readPad() + preprocess.js, against the full pad's pixels + preprocess.js, n times each.
REPEAT = """async (n) => {
  const { preprocessImageData } = await import("./preprocess.js");
  const pad = document.getElementById("pad");
  const ink = pad.getContext("2d", { willReadFrequently: true });
  const ways = {
    half: () => window.mnistEdge.readPad(),
    full: () => ink.getImageData(0, 0, pad.width, pad.height),
  };
  const ms = { half: [], full: [] };
  for (let i = 0; i < n; i++) {
    for (const [name, read] of Object.entries(ways)) {
      const t0 = performance.now();
      preprocessImageData(read());
      ms[name].push(performance.now() - t0);
    }
  }
  return ms;
}"""


def repeated(page, n: int = 50) -> dict:
    """The pad as it stands, read and preprocessed n times each way (interleaved): medians in ms."""
    ms = page.evaluate(REPEAT, n)
    half, full = statistics.median(ms["half"]), statistics.median(ms["full"])
    return {"runs": n, "half_ms": round(half, 3), "full_ms": round(full, 3), "full_over_half": round(full / half, 2)}


def first_visit(browser, url: str, site: Path) -> dict:
    context = browser.new_context()
    page, requests = harness.open_page(context, url)
    first = harness.draw(page, 7)
    wasm_end = page.evaluate("performance.getEntriesByType('resource').find(e => e.name.endsWith('.wasm')).responseEnd")
    result = {
        "wasm_loaded_ms": wasm_end,
        "session_ms": timings(page)["sessionCreated"],
        "ready_ms": timings(page)["ready"],
        "first_digit_ms": first["totalMs"],
        "weight": weight(page, site),
        "external": harness.external(requests),
        "threads": page.evaluate("window.mnistEdge.threads"),
    }
    page.reload()
    page.wait_for_function("() => document.documentElement.dataset.state !== 'loading'")
    result["revisit_ready_ms"] = timings(page)["ready"]
    context.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=3, help="First visits to time (each a fresh profile).")
    parser.add_argument("--draws", type=int, default=20, help="Digits drawn after the first one.")
    parser.add_argument("--threads", type=int, default=1, help="WASM threads (the page's ?threads=N).")
    parser.add_argument("--out", type=Path, default=None, help="Write the results as JSON here too.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        site = Path(tmp) / "site"
        write_bundle(site, shipped_model_path())
        digit = load_path(ROOT / "tests" / "data" / "mnist-sample").x_test[0]
        photo = Path(tmp) / "photo.jpg"
        photo_of_digit(digit, size=240, offset=(25, -15)).save(photo, quality=90)
        browser = harness.launch(playwright)
        with harness.static_server(site) as base:
            url = f"{base}?threads={args.threads}"
            visits = [first_visit(browser, url, site) for _ in range(args.loads)]
            page, requests = harness.open_page(browser.new_context(), url)
            harness.draw(page, 7)  # the first digit is timed above, with the visits
            draws = [harness.draw(page, DIGITS[i % len(DIGITS)]) for i in range(args.draws)]
            pad_repeated = {}
            for d in DIGITS:
                harness.draw(page, d)
                pad_repeated[str(d)] = repeated(page)
            photos = [harness.upload(page, photo) for _ in range(5)]
            external = harness.external(requests) + [u for v in visits for u in v["external"]]
        browser.close()

    result = {
        "command": "python " + " ".join([f"benchmarks/{Path(__file__).name}", *sys.argv[1:]]),
        "chromium": harness.CHROMIUM,
        "load_average_1min": round(os.getloadavg()[0], 1),  # the machine is shared: context for the timings
        "threads": visits[0]["threads"],
        "wasm_downloaded_ms_first_visit": summary([v["wasm_loaded_ms"] for v in visits]),
        "session_created_ms_first_visit": summary([v["session_ms"] for v in visits]),
        "ready_ms_first_visit": summary([v["ready_ms"] for v in visits]),
        "ready_ms_revisit": summary([v["revisit_ready_ms"] for v in visits]),
        "first_digit_ms": summary([v["first_digit_ms"] for v in visits]),
        "digit_ms": {
            key: summary([d[key] for d in draws]) for key in ("totalMs", "preprocessMs", "readMs", "inferenceMs")
        },
        "pad_read_and_preprocess_repeated": pad_repeated,
        "photo_ms": {
            key: summary([p[key] for p in photos]) for key in ("totalMs", "preprocessMs", "readMs", "inferenceMs")
        },
        "drawn_correct": sum(d["label"] == DIGITS[i % len(DIGITS)] for i, d in enumerate(draws)) / len(draws),
        "page_weight": visits[0]["weight"],
        "external_requests": external,
    }
    text = json.dumps(result, indent=2, default=lambda o: o.item() if isinstance(o, np.generic) else str(o))
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
