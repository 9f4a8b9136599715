"""A small HTTP service that serves digit predictions from the mnist-edge runtime (standard library only).

    python examples/http_service.py --port 8000 [--model artifacts/model.int8.onnx]
    curl --data-binary @examples/digits/mnist_test_00000_label_7.png http://127.0.0.1:8000/predict

POST /predict with the image file as the body → {"label", "confidence", "probabilities", "box", "digits", "reason", "readings"};
an unreadable image or a bad request → 400 {"error"}; a body over the file limit → 413;
all handler threads busy → 503. GET /health → {"status": "ok", "model": ...}.

Guard rails: a listen backlog of 128, a 10 s socket timeout (a slow or silent client loses its
connection instead of holding a thread), and at most 32 requests handled at once (the next ones
get 503 at once instead of queueing threads without bound).
"""

from __future__ import annotations

import argparse
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mnist_edge.errors import MnistEdgeError
from mnist_edge.runtime import ImageError, Predictor, prediction_record
from mnist_edge.runtime.preprocess import MAX_FILE_BYTES

BACKLOG = 128
SOCKET_TIMEOUT_S = 10.0
MAX_CONCURRENT = 32


def make_handler(predictor: Predictor, timeout: float = SOCKET_TIMEOUT_S):
    class Handler(BaseHTTPRequestHandler):
        def setup(self):
            self.timeout = timeout  # StreamRequestHandler applies it to the socket
            super().setup()

        def do_GET(self):
            if self.path != "/health":
                return self._reply(404, {"error": "not found"})
            self._reply(
                200,
                {"status": "ok", "model": str(predictor.path), "test_accuracy": predictor.card.get("test_accuracy")},
            )

        def do_POST(self):
            if self.path != "/predict":
                return self._reply(404, {"error": "not found"})
            text = self.headers.get("Content-Length")
            if text is None or not text.strip().isdigit():
                return self._reply(
                    400, {"error": "send the image file as the request body, with a valid Content-Length"}
                )
            length = int(text)
            if length <= 0:
                return self._reply(400, {"error": "send the image file as the request body"})
            if length > MAX_FILE_BYTES:
                return self._reply(413, {"error": f"image over {MAX_FILE_BYTES} bytes"})
            try:
                body = self.rfile.read(length)
            except (TimeoutError, OSError):
                self.close_connection = True
                return  # the client is gone or too slow; nobody to answer
            if len(body) < length:
                return self._reply(400, {"error": f"body shorter than Content-Length ({len(body)} < {length} bytes)"})
            try:
                result = predictor.predict(body)
            except ImageError as e:
                return self._reply(400, {"error": str(e)})
            except MnistEdgeError as e:
                return self._reply(500, {"error": str(e)})
            record = prediction_record("", result)  # the --json record: digits, reason, readings too
            self._reply(200, {k: v for k, v in record.items() if k != "path"})

        def _reply(self, status: int, payload: dict):
            data = json.dumps(payload, allow_nan=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if status >= 400:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args):  # keep the terminal for errors
            pass

    return Handler


class Server(ThreadingHTTPServer):
    """ThreadingHTTPServer with a real backlog, a bound on busy threads and no tracebacks."""

    request_queue_size = BACKLOG
    daemon_threads = True

    def __init__(self, address, handler, max_concurrent: int = MAX_CONCURRENT):
        self._slots = threading.BoundedSemaphore(max_concurrent)
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        if not self._slots.acquire(blocking=False):
            _busy(request)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request, client_address):  # a client that vanished is not our error
        pass


def _busy(request: socket.socket) -> None:
    body = json.dumps({"error": "server busy, retry later"}).encode()
    head = f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
    try:
        request.settimeout(1.0)
        request.sendall(head.encode() + body)
    except OSError:
        pass


def make_server(
    predictor: Predictor,
    host: str = "127.0.0.1",
    port: int = 8000,
    timeout: float = SOCKET_TIMEOUT_S,
    max_concurrent: int = MAX_CONCURRENT,
) -> Server:
    return Server((host, port), make_handler(predictor, timeout), max_concurrent)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve mnist-edge digit predictions over HTTP.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--model", default=None, help="ONNX model (default: the shipped int8 model)")
    args = parser.parse_args()
    server = make_server(Predictor(args.model), args.host, args.port)
    print(f"serving on http://{args.host}:{server.server_port}/predict")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
