"""Provenance for metrics and model cards: SHA-256 of files and the versions of the libraries used."""

from __future__ import annotations

import hashlib
import platform
import sys
from pathlib import Path

from . import __version__


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict:
    """Versions of what shaped the model; only modules already imported are asked."""
    versions = {"mnist_edge": __version__, "python": platform.python_version()}
    for name in ("numpy", "tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime"):
        module = sys.modules.get(name)
        if module is not None:
            versions[name] = getattr(module, "__version__", "unknown")
    return versions
