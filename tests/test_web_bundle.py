"""The static web bundle (`mnist-edge web DIR`) and the vendored onnxruntime-web files, without a browser."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys

import pytest

from conftest import BLOCK_HEAVY_IMPORTS, run_cli
from mnist_edge.errors import ModelError, UsageError
from mnist_edge.runtime import Predictor, shipped_model_path
from mnist_edge.web import STATIC_DIR, bundle, vendor, write_bundle

PAGE_FILES = {
    "index.html",
    "app.js",
    "preprocess.js",
    "trust.js",
    "style.css",
    *(f"vendor/{name}" for name in vendor.FILES),
}


def test_the_committed_vendor_files_match_their_pins():
    assert vendor.mismatches() == []


def test_a_changed_vendor_file_is_caught(tmp_path):
    shutil.copytree(vendor.VENDOR_DIR, tmp_path / "vendor")
    path = tmp_path / "vendor" / "ort.wasm.min.js"
    path.write_bytes(path.read_bytes() + b"\n")
    (tmp_path / "vendor" / "ort-wasm-simd-threaded.mjs").unlink()
    assert vendor.mismatches(tmp_path / "vendor") == ["ort.wasm.min.js", "ort-wasm-simd-threaded.mjs"]


def test_the_page_loads_nothing_but_its_own_files():
    """Every URL the page's HTML and JS name is relative (this server) or data:/blob:, and the CSP says so."""
    html = (STATIC_DIR / "index.html").read_text()
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs and all(not re.match(r"^[a-z]+://|^//", ref) for ref in refs), refs
    assert "default-src 'self'" in html
    for name in ("app.js", "preprocess.js"):
        code = (STATIC_DIR / name).read_text()
        assert not re.search(r"https?://", code), name
    assert {p.as_posix() for p in bundle.static_files()} >= PAGE_FILES


def test_a_bundle_holds_the_page_and_the_model(tmp_path):
    out = tmp_path / "site"
    manifest = write_bundle(out, shipped_model_path())
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert written == PAGE_FILES | {"model.int8.onnx", "card.json", "bundle.json"}
    assert (out / "model.int8.onnx").read_bytes() == shipped_model_path().read_bytes()
    assert json.loads((out / "card.json").read_text()) == Predictor(shipped_model_path()).card
    assert manifest["model"]["sha256"] == hashlib.sha256(shipped_model_path().read_bytes()).hexdigest()
    assert json.loads((out / "bundle.json").read_text()) == manifest
    assert manifest["total_bytes"] == sum((out / name).stat().st_size for name in written - {"bundle.json"})
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left behind


def test_a_bundle_replaces_an_older_bundle_whole(tmp_path):
    out = tmp_path / "site"
    write_bundle(out, shipped_model_path())
    (out / "stale.js").write_text("left from an older bundle")
    write_bundle(out, shipped_model_path(quantized=False))
    assert not (out / "stale.js").exists()
    assert (out / "model.int8.onnx").read_bytes() == shipped_model_path(quantized=False).read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_a_folder_that_is_not_a_bundle_is_never_replaced(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not empty and holds no web bundle"):
        write_bundle(tmp_path, shipped_model_path())
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_model_the_runtime_refuses_makes_no_bundle(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError):
        write_bundle(tmp_path / "site", bad)
    assert not (tmp_path / "site").exists()


def test_changed_vendor_files_make_no_bundle(tmp_path, monkeypatch):
    monkeypatch.setitem(vendor.FILES, "ort.wasm.min.js", "0" * 64)
    with pytest.raises(ModelError, match="make web-vendor"):
        write_bundle(tmp_path / "site", shipped_model_path())
    assert not (tmp_path / "site").exists()


def test_the_web_command_writes_a_bundle_and_fails_in_one_line(tmp_path):
    result = run_cli("web", tmp_path / "site", "--model", shipped_model_path())
    assert result.returncode == 0, result.stderr
    assert "wrote the web page to" in result.stdout and (tmp_path / "site" / "index.html").is_file()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x").write_text("x")
    result = run_cli("web", tmp_path / "other")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "not empty and holds no web bundle" in result.stderr


def export_without_tensorflow(*args) -> subprocess.CompletedProcess:
    """`mnist-edge export ARGS` where importing TensorFlow, Keras, tf2onnx or onnx raises."""
    script = BLOCK_HEAVY_IMPORTS + f"sys.argv = ['mnist-edge', 'export', *{list(map(str, args))!r}]\n"
    script += "from mnist_edge.cli import main\nmain()\n"
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)


def test_export_web_is_refused_before_any_export_work(tmp_path):
    keras = tmp_path / "model.keras"  # never read: both refusals come before the export starts
    result = export_without_tensorflow("--model", keras, "--web", tmp_path / "site")
    assert result.returncode == 2 and "--web needs --quantize" in result.stderr
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "x").write_text("x")
    result = export_without_tensorflow("--model", keras, "--quantize", "--web", tmp_path / "site")
    assert result.returncode == 1 and "not empty and holds no web bundle" in result.stderr
    assert result.stderr.count("\n") == 1
