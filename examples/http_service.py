"""A small HTTP service that serves digit predictions from the mnist-edge runtime (standard library only).

    python examples/http_service.py --port 8000 [--model artifacts/model.int8.onnx]
    curl --data-binary @examples/digits/mnist_test_00000_label_7.png http://127.0.0.1:8000/predict

POST /predict with the image file as the body → {"label", "confidence", "probabilities"};
an unreadable image → 400 {"error"}. GET /health → {"status": "ok", "model": ...}.
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mnist_edge.runtime import ImageError, Predictor
from mnist_edge.runtime.preprocess import MAX_FILE_BYTES


def make_handler(predictor: Predictor):
    class Handler(BaseHTTPRequestHandler):
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
            length = int(self.headers.get("Content-Length") or 0)
            if length <= 0:
                return self._reply(400, {"error": "send the image file as the request body"})
            if length > MAX_FILE_BYTES:
                return self._reply(413, {"error": f"image over {MAX_FILE_BYTES} bytes"})
            body = self.rfile.read(length)
            try:
                result = predictor.predict(body)
            except ImageError as e:
                return self._reply(400, {"error": str(e)})
            self._reply(
                200,
                {"label": result.label, "confidence": result.confidence, "probabilities": list(result.probabilities)},
            )

        def _reply(self, status: int, payload: dict):
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args):  # keep the terminal for errors
            pass

    return Handler


def make_server(predictor: Predictor, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    return ThreadingHTTPServer((host, port), make_handler(predictor))


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
