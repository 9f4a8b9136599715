"""The examples work: the HTTP service on localhost, the minimal embedding app, a Predictor shared by threads."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from mnist_edge.runtime import Predictor

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DIGITS = sorted((EXAMPLES / "digits").iterdir())


def label_of(path: Path) -> int:
    return int(path.stem.rsplit("_", 1)[1])


@pytest.fixture(scope="module")
def service(exported):
    spec = importlib.util.spec_from_file_location("http_service", EXAMPLES / "http_service.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    server = module.make_server(Predictor(exported["dir"] / "model.int8.onnx"), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_http_service_predicts_posted_images(service):
    status, reply = post(f"{service}/predict", (EXAMPLES / "digits" / "mnist_test_00000_label_7.png").read_bytes())
    assert status == 200 and reply["label"] == 7 and len(reply["probabilities"]) == 10
    status, reply = post(f"{service}/predict", b"definitely not an image")
    assert status == 400 and "not a readable image" in reply["error"]
    with urllib.request.urlopen(f"{service}/health", timeout=30) as response:
        assert json.loads(response.read())["status"] == "ok"


def test_http_service_survives_a_bounded_concurrent_burst(service):
    bodies = [(p.read_bytes(), label_of(p)) for p in DIGITS if p.name.startswith("mnist_")] * 8  # 80 requests
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda b: post(f"{service}/predict", b[0]), bodies))
    assert all(status == 200 for status, _ in replies)
    correct = sum(reply["label"] == label for (status, reply), (_, label) in zip(replies, bodies, strict=True))
    assert correct >= 0.8 * len(bodies)


def test_one_predictor_shared_by_eight_threads_matches_sequential(exported, mnist):
    predictor = Predictor(exported["dir"] / "model.int8.onnx")
    images = list(mnist.x_test[:400])
    sequential = [predictor.predict(img).probabilities for img in images]
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(lambda img: predictor.predict(img).probabilities, images * 5))
    np.testing.assert_array_equal(np.array(threaded), np.array(sequential * 5))


def test_embed_minimal_runs(exported, tmp_path):
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    (artifacts / "model.int8.onnx").write_bytes((exported["dir"] / "model.int8.onnx").read_bytes())
    image = EXAMPLES / "digits" / "mnist_test_00001_label_2.png"
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "embed_minimal.py"), str(image)], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{image}: 2 (")
