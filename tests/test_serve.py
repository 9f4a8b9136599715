"""`mnist-edge serve`: routes, JSON errors and limits in-process (Starlette's TestClient), and the real
command as a subprocess: slow clients, 503 when full, graceful shutdown on SIGTERM, --workers.

Needs the serve extra (and httpx2, in dev); conftest does not collect this module without it.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from conftest import MNIST_EDGE
from mnist_edge.runtime import Predictor, format_line
from mnist_edge.serve import Settings, create_app

pytestmark = pytest.mark.serve

DIGITS = Path(__file__).resolve().parent.parent / "examples" / "digits"
PNG = DIGITS / "mnist_test_00000_label_7.png"
JPG = DIGITS / "photo_test_02000_label_6.jpg"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor(threads=1)


def client(predictor, **settings) -> TestClient:
    settings.setdefault("static_dir", None)
    return TestClient(create_app(Settings(**settings), predictor))


def one_line_error(response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    reason = response.json()["error"]
    assert reason and "\n" not in reason
    return reason


# ---- routes, in-process ----


def test_predict_raw_body_is_the_predict_json_record(predictor):
    expected = json.loads(format_line(str(PNG), predictor.predict(PNG), as_json=True))
    response = client(predictor).post("/predict", content=PNG.read_bytes())
    assert response.status_code == 200
    assert response.json() == {**expected, "path": "-"}
    assert response.json()["label"] == 7


def test_a_picture_without_a_digit_is_an_answer_like_predict_json(predictor):
    blank = io.BytesIO()
    Image.new("L", (64, 64), 255).save(blank, "PNG")
    expected = json.loads(format_line("-", predictor.predict(blank.getvalue()), as_json=True))
    response = client(predictor).post("/predict", content=blank.getvalue())
    assert response.status_code == 200 and response.json() == expected
    assert response.json()["digits"] == "" and response.json()["reason"]


def test_predict_multipart_upload_is_named_by_its_file_name(predictor):
    with client(predictor) as c:
        response = c.post("/predict", files={"file": (JPG.name, JPG.read_bytes(), "image/jpeg")})
        raw = c.post("/predict", content=JPG.read_bytes(), headers={"Content-Type": "image/jpeg"})
    assert response.status_code == 200
    assert response.json()["path"] == JPG.name and response.json()["label"] == 6
    assert {**raw.json(), "path": JPG.name} == response.json()


def test_batch_keeps_order_and_reports_bad_pictures_per_item(predictor):
    files = [
        ("a", ("seven.png", PNG.read_bytes(), "image/png")),
        ("b", ("notes.txt", b"not a picture", "text/plain")),
        ("c", ("six.jpg", JPG.read_bytes(), "image/jpeg")),
    ]
    response = client(predictor).post("/predict/batch", files=files)
    assert response.status_code == 200
    records = response.json()["predictions"]
    assert [r["path"] for r in records] == ["seven.png", "notes.txt", "six.jpg"]
    assert records[0]["label"] == 7 and records[2]["label"] == 6
    assert "error" in records[1] and "label" not in records[1]
    assert records[0]["probabilities"] == list(predictor.predict(PNG).probabilities)


def test_batch_limits(predictor):
    c = client(predictor, max_batch_files=2)
    files = [(f"f{i}", (f"{i}.png", PNG.read_bytes(), "image/png")) for i in range(3)]
    assert "more than 2" in one_line_error(c.post("/predict/batch", files=files), 413)
    one_line_error(c.post("/predict/batch", content=PNG.read_bytes()), 415)
    one_line_error(c.post("/predict/batch", data={"field": "value"}), 415)  # url-encoded: no files
    fields_only = b'--b\r\nContent-Disposition: form-data; name="field"\r\n\r\nvalue\r\n--b--\r\n'
    multipart = {"Content-Type": "multipart/form-data; boundary=b"}
    assert "no file" in one_line_error(c.post("/predict/batch", content=fields_only, headers=multipart), 400)


def test_errors_are_one_line_json_with_the_right_status(predictor):
    c = client(predictor, max_body_bytes=5000, max_pixels=700)
    assert one_line_error(c.post("/predict", content=b"\x89PNG\r\n\x1a\n broken"), 400)
    assert one_line_error(c.post("/predict", content=b""), 400) == "empty body: send the picture"
    one_line_error(c.post("/predict", content=b"x" * 6000), 413)
    assert "700-pixel limit" in one_line_error(c.post("/predict", content=PNG.read_bytes()), 413)  # 28x28 = 784
    assert "text/plain" in one_line_error(c.post("/predict", content=b"7", headers={"Content-Type": "text/plain"}), 415)
    one_line_error(c.post("/predict", content=b"{}", headers={"Content-Type": "application/json"}), 415)
    one_line_error(c.get("/predict"), 405)
    one_line_error(c.get("/no-such-thing"), 404)


def test_a_chunked_body_over_the_limit_is_refused_while_it_streams(predictor):
    c = client(predictor, max_body_bytes=5000)
    response = c.post("/predict", content=iter([b"x" * 3000, b"x" * 3000]))  # no Content-Length
    assert "5000-byte limit" in one_line_error(response, 413)


def test_healthz_card_and_model_file(predictor):
    c = client(predictor)
    health = c.get("/healthz").json()
    assert health["status"] == "ok" and health["model"] == predictor.path.name
    assert c.get("/model").json() == predictor.card
    assert c.get("/card.json").json() == predictor.card  # what the page reads
    model = c.get("/model.int8.onnx")
    assert model.content == predictor.path.read_bytes()
    assert model.headers["cross-origin-embedder-policy"] == "require-corp"
    assert model.headers["cross-origin-opener-policy"] == "same-origin"


def test_metrics_count_requests_errors_and_latency(predictor):
    c = client(predictor)
    for _ in range(3):
        c.post("/predict", content=PNG.read_bytes())
    c.post("/predict", content=b"garbage")
    c.post("/predict", content=b"7", headers={"Content-Type": "text/plain"})
    response = c.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    assert samples[("mnist_edge_http_requests_total", (("route", "/predict"), ("status", "200")))] == 3
    assert samples[("mnist_edge_http_requests_total", (("route", "/predict"), ("status", "400")))] == 1
    assert samples[("mnist_edge_http_errors_total", (("kind", "bad_image"),))] == 1
    assert samples[("mnist_edge_http_errors_total", (("kind", "unsupported_type"),))] == 1
    assert samples[("mnist_edge_http_request_duration_seconds_count", (("route", "/predict"),))] == 5
    assert samples[("mnist_edge_http_request_duration_seconds_bucket", (("le", "+Inf"), ("route", "/predict")))] == 5
    assert samples[("mnist_edge_http_requests_in_flight", ())] == 1  # this scrape itself


def test_full_server_answers_503_with_retry_after_at_once(predictor):
    """A request waiting for its body holds the only slot: the next is refused at once, not queued."""
    app = create_app(Settings(max_concurrent=1, static_dir=None, retry_after=3), predictor)
    body = PNG.read_bytes()
    headers = [(b"content-type", b"image/png"), (b"content-length", str(len(body)).encode())]
    scope = {"type": "http", "method": "POST", "path": "/predict", "raw_path": b"/predict", "query_string": b"",
             "headers": headers, "http_version": "1.1", "scheme": "http", "root_path": "",
             "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1)}  # fmt: skip

    async def call(receive):
        sent = []

        async def send(message):
            sent.append(message)

        await app(dict(scope), receive, send)
        return sent

    async def main():
        release = asyncio.Event()

        async def slow_receive():
            await release.wait()
            return {"type": "http.request", "body": body, "more_body": False}

        async def quick_receive():
            return {"type": "http.request", "body": body, "more_body": False}

        first = asyncio.create_task(call(slow_receive))
        await asyncio.sleep(0.05)  # the first request now holds the only slot, waiting for its body
        second = await asyncio.wait_for(call(quick_receive), 5)
        release.set()
        return await asyncio.wait_for(first, 5), second

    first, second = asyncio.run(main())
    assert first[0]["status"] == 200
    assert second[0]["status"] == 503
    assert (b"retry-after", b"3") in second[0]["headers"]
    assert "retry later" in json.loads(second[1]["body"])["error"]


def test_static_page_is_served_isolated_with_wasm_types(predictor, tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><title>digits</title>")
    (tmp_path / "app.mjs").write_text("export const x = 1;")
    (tmp_path / "ort.wasm").write_bytes(b"\0asm\1\0\0\0")
    c = client(predictor, static_dir=str(tmp_path))
    page = c.get("/")
    assert page.status_code == 200 and "digits" in page.text
    assert page.headers["cross-origin-opener-policy"] == "same-origin"
    assert page.headers["cross-origin-embedder-policy"] == "require-corp"
    assert c.get("/app.mjs").headers["content-type"].startswith("text/javascript")
    assert c.get("/ort.wasm").headers["content-type"] == "application/wasm"
    assert c.post("/predict", content=PNG.read_bytes()).json()["label"] == 7  # the API still wins
    one_line_error(client(predictor, static_dir=str(tmp_path / "absent")).get("/"), 404)


# ---- the real command ----


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    def __init__(self, *args: str, timeout: float = 60):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        command = [*MNIST_EDGE, "serve", "--port", str(self.port), *args]
        self.process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.stderr.read()
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        pytest.fail("mnist-edge serve did not answer /healthz in time")

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


def read_response(sock: socket.socket) -> tuple[int, dict, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response: {data!r}"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    while len(body) < int(headers.get("content-length", 0)):
        body += sock.recv(65536)
    return int(lines[0].split()[1]), headers, body


def request_head(length: int) -> bytes:
    return (
        f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def closed_within(sock: socket.socket, seconds: float) -> float:
    """Seconds until the server closed the connection (reading what it sends first); fails past ``seconds``."""
    sock.settimeout(seconds)
    start = time.monotonic()
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        pytest.fail(f"the server kept a stalled connection open over {seconds} s")
    return time.monotonic() - start


def test_served_slow_clients_are_cut_off_and_a_full_server_says_503():
    server = Served("--header-timeout", "1", "--body-timeout", "1", "--max-concurrent", "1")
    try:
        half_headers = server.connect()
        half_headers.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Le")
        silent = server.connect()
        half_body = server.connect()
        body = PNG.read_bytes()
        half_body.sendall(request_head(len(body)) + body[:10])
        time.sleep(0.3)
        busy = server.connect()  # the half-sent body holds the one request slot
        busy.sendall(request_head(len(body)) + body)
        status, headers, answer = read_response(busy)
        assert status == 503 and headers["retry-after"] == "1"
        assert "retry later" in json.loads(answer)["error"]
        status, _, answer = read_response(half_body)  # its deadline passes: 408, connection closed
        assert status == 408 and "did not arrive" in json.loads(answer)["error"]
        assert closed_within(half_body, 3) < 3
        assert closed_within(half_headers, 5) < 5
        assert closed_within(silent, 5) < 5
        again = server.connect()  # and the server still serves
        again.sendall(request_head(len(body)) + body)
        status, _, answer = read_response(again)
        assert status == 200 and json.loads(answer)["label"] == 7
    finally:
        assert server.stop() == 0


def test_served_sigterm_lets_the_request_in_flight_finish():
    server = Served("--body-timeout", "20")
    body = PNG.read_bytes()
    in_flight = server.connect()
    in_flight.sendall(request_head(len(body)) + body[:10])
    time.sleep(0.3)
    server.process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert server.process.poll() is None  # still waiting for the request in flight
    with pytest.raises(OSError):
        server.connect().sendall(request_head(len(body)) + body)  # no new connections
        read_response(server.connect())
    in_flight.sendall(body[10:])
    status, _, answer = read_response(in_flight)
    assert status == 200 and json.loads(answer)["label"] == 7
    assert server.process.wait(timeout=30) == 0


def test_served_workers_share_the_metrics():
    server = Served("--workers", "2", timeout=90)
    try:
        for _ in range(6):
            request = urllib.request.Request(server.base + "/predict", PNG.read_bytes(), {"Content-Type": "image/png"})
            with urllib.request.urlopen(request, timeout=10) as r:
                assert json.loads(r.read())["label"] == 7
        with urllib.request.urlopen(server.base + "/metrics", timeout=10) as r:
            text = r.read().decode()
        counts = [
            s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == "mnist_edge_http_requests_total" and s.labels == {"route": "/predict", "status": "200"}
        ]
        assert counts == [6]  # summed over both workers, whichever answered the scrape
    finally:
        assert server.stop() == 0


def test_serve_without_the_extra_says_how_to_install_it():
    blocker = "import sys\nclass B:\n    def find_spec(self, name, path=None, target=None):\n        if name.split('.')[0] in ('starlette', 'uvicorn'):\n            raise ImportError(name)\nsys.meta_path.insert(0, B())\nfrom mnist_edge.cli import main\nsys.argv = ['mnist-edge', 'serve']\nmain()\n"
    out = subprocess.run(
        [sys.executable, "-c", blocker],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        "mnist-edge: error: the server needs the serve extra (starlette, uvicorn missing): pip install 'mnist-edge[serve]'"
    ]


def test_serve_on_a_port_in_use_says_so_in_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run(
            [*MNIST_EDGE, "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        f"mnist-edge: error: cannot listen on 127.0.0.1:{port} (Address already in use)"
    ]
