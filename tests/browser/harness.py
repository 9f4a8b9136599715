"""Drive the web page in headless Chromium: launch, serve a bundle locally, draw, upload, read.

Shared by tests/browser/ and benchmarks/browser_page.py. Playwright is imported by the caller
(`make test-browser` installs it); the browser is the system's Chromium (Debian's `chromium`),
never a Playwright download.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import ipaddress
import math
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = os.environ.get("MNIST_EDGE_CHROMIUM", "/usr/bin/chromium")
# Headless and quiet: without the background-networking flags Chromium calls Google's hosts by itself.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAD = 280  # the drawing pad's canvas side, in its own pixels

# Digits as pen strokes in pad pixels: each stroke a list of points. The 1 leans a little: the Python
# runtime takes a perfectly vertical bar for a ruled line (runtime/locate.py) and reads no 1 in it.
STROKES = {
    1: [[(150, 50), (130, 230)]],
    4: [[(170, 230), (170, 50), (90, 170), (200, 170)]],
    7: [[(80, 60), (200, 60), (140, 230)]],
    0: [[(140 + 55 * math.sin(2 * math.pi * k / 24), 140 - 85 * math.cos(2 * math.pi * k / 24)) for k in range(25)]],
}


def launch(playwright):
    """Headless system Chromium with a fresh profile (Playwright's launch makes a temporary one)."""
    if not Path(CHROMIUM).is_file():
        raise RuntimeError(f"no Chromium at {CHROMIUM}: 'make test-browser' installs Debian's chromium (as root)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files with the COOP/COEP headers `serve` sends (threads in WASM need them)."""

    def end_headers(self):
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def static_server(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on a free loopback port; yield its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def is_local(url: str) -> bool:
    """A request this page may make: to a loopback host, or data:/blob: (no network)."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob"):
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def external(requests: list[str]) -> list[str]:
    """The requests that went to another host than this machine."""
    return [url for url in requests if not is_local(url)]


def open_page(browser, url: str, timeout_ms: int = 30_000):
    """A new page at ``url``, waited until the model is loaded; returns (page, every request URL).

    ``browser`` may be a browser (a fresh context: a first visit) or a context (shares its cache).
    """
    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(url)
    page.wait_for_function("() => document.documentElement.dataset.state !== 'loading'", timeout=timeout_ms)
    return page, requests


def predictions(page) -> int:
    return page.evaluate("window.mnistEdge.predictions")


def draw(page, digit: int) -> dict:
    """Clear the pad, draw ``digit`` with mouse strokes, wait for the page's answer; return it."""
    page.click("#clear")
    before = predictions(page)
    box = page.locator("#pad").bounding_box()
    scale = box["width"] / PAD
    for stroke in STROKES[digit]:
        (x, y), rest = stroke[0], stroke[1:]
        page.mouse.move(box["x"] + x * scale, box["y"] + y * scale)
        page.mouse.down()
        for x, y in rest:
            page.mouse.move(box["x"] + x * scale, box["y"] + y * scale, steps=6)
        page.mouse.up()
    return wait_answer(page, before + len(STROKES[digit]))


def draw_with_finger(page, digit: int) -> dict:
    """As ``draw``, with touch events (Chrome DevTools Protocol): a finger on a touch screen."""
    page.click("#clear")
    before = predictions(page)
    box = page.locator("#pad").bounding_box()
    scale = box["width"] / PAD
    cdp = page.context.new_cdp_session(page)
    for stroke in STROKES[digit]:
        points = [{"x": box["x"] + x * scale, "y": box["y"] + y * scale} for x, y in _dense(stroke)]
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [points[0]]})
        for point in points[1:]:
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()
    return wait_answer(page, before + len(STROKES[digit]))


def _dense(stroke, steps: int = 6) -> list:
    """The stroke's points with ``steps`` points on each segment, as a moving finger reports them."""
    out = [stroke[0]]
    for (x0, y0), (x1, y1) in zip(stroke, stroke[1:], strict=False):
        out += [(x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps) for k in range(1, steps + 1)]
    return out


def upload(page, path: Path, selector: str = "#photo") -> dict:
    """Choose ``path`` in the page's file input; wait for the answer and return it."""
    before = predictions(page)
    page.set_input_files(selector, str(path))
    return wait_answer(page, before + 1)


def wait_answer(page, count: int) -> dict:
    page.wait_for_function("(n) => window.mnistEdge.predictions >= n", arg=count, timeout=10_000)
    return page.evaluate("window.mnistEdge.last")


def pad_reading(page):
    """The picture the page's preprocessing reads from the pad (its readPad()): an RGBA array, height × width × 4."""
    import numpy as np

    width, height, data = page.evaluate(
        "(() => { const r = window.mnistEdge.readPad(); return [r.width, r.height, Array.from(r.data)]; })()"
    )
    return np.array(data, dtype=np.uint8).reshape(height, width, 4)


def pad_png(page) -> bytes:
    """The pad as the PNG the page drew, at full size (its preprocessing reads it at half size: pad_reading)."""
    import base64

    url = page.evaluate("document.getElementById('pad').toDataURL('image/png')")
    return base64.b64decode(url.split(",", 1)[1])
