"""Issue 14, item 15: the HTTP example survives bad headers, slow clients and crowds (127.0.0.1 only)."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "examples"))

import http_service  # noqa: E402

pytestmark = pytest.mark.runtime

DIGIT = ROOT / "examples" / "digits" / "mnist_test_00000_label_7.png"


@pytest.fixture
def server(predictor):
    srv = http_service.make_server(predictor, "127.0.0.1", 0, timeout=0.5, max_concurrent=2)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _connect(server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.server_port), timeout=5)
    return sock


def _exchange(server, raw: bytes) -> tuple[int, dict]:
    with _connect(server) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    if not data:
        return None, None  # closed without an answer
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@pytest.mark.parametrize("value", ["abc", "-5", "1e3", "", "  ", "99999999999999999999999"])
def test_bad_content_length_is_a_json_error(server, value):
    status, payload = _exchange(
        server, f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: {value}\r\n\r\n".encode()
    )
    assert status in (400, 413) and "error" in payload


def test_body_shorter_than_content_length(server):
    """The server cannot tell a short body from a slow one: it waits out the timeout, then hangs up."""
    start = time.monotonic()
    status, _ = _exchange(server, b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
    assert status in (400, None) and time.monotonic() - start < 3


def test_a_good_request_still_works(server):
    body = DIGIT.read_bytes()
    status, payload = _exchange(
        server,
        b"POST /predict HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body,
    )
    assert status == 200 and payload["label"] == 7


def test_listen_backlog_is_raised(server):
    assert server.request_queue_size >= 128


def test_slow_client_is_disconnected(server):
    """A client that sends half a request line and then nothing loses its thread after the timeout."""
    with _connect(server) as sock:
        sock.sendall(b"POST /predict HTTP/1.1\r\nContent-Le")
        start = time.monotonic()
        assert sock.recv(1024) == b""  # the server closed the connection
        assert time.monotonic() - start < 4


def test_slow_body_is_disconnected(server):
    with _connect(server) as sock:
        sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\nabc")
        start = time.monotonic()
        assert sock.recv(1024) == b""
        assert time.monotonic() - start < 4


def test_busy_server_answers_503(server):
    """Two slow clients hold both handler slots; the third gets 503 at once, not a queued thread."""
    holders = [_connect(server) for _ in range(2)]
    for s in holders:
        s.sendall(b"GET /health HTTP/1.1\r\n")  # incomplete: the handler waits for more
    time.sleep(0.2)
    try:
        start = time.monotonic()
        status, payload = _exchange(server, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == 503 and "busy" in payload["error"]
        assert time.monotonic() - start < 1
    finally:
        for s in holders:
            s.close()
    time.sleep(1.0)  # the slots come back once the slow clients are gone
    status, payload = _exchange(server, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 200
