"""The browser page as a static bundle: ``static/`` plus one model, in a folder any static host serves.

``write_bundle(out_dir, model)`` copies the page (``index.html``, ``app.js``, ``preprocess.js``,
``style.css``, the vendored onnxruntime-web files) and the model, as ``model.int8.onnx`` beside
``index.html``, where the page fetches it, with its card as ``card.json`` (the page applies the card's
temperature and "not a digit" rule, as ``predict`` does). The model is loaded by the runtime's ``Predictor`` first
(card, signature and preprocessing spec checked), so a bundle never ships a model the runtime
would refuse. The folder is built beside ``out_dir`` and renamed into place: readers see the old
bundle or the new one, never a partial one (a crash between the two renames of a replacement
leaves the old bundle in ``.<name>.old-*`` beside it).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from .. import __version__
from ..contract import INT8_FILE, LABELS
from ..errors import ModelError, UsageError
from ..files import write_bytes, write_json
from ..runtime.predictor import Predictor, default_model_path
from . import vendor

STATIC_DIR = Path(__file__).parent / "static"
CARD_FILE = "card.json"  # the model's card, beside it: the page reads its calibration and rejection
MANIFEST = "bundle.json"  # what a bundle holds; also marks a folder as one (safe to replace)


def static_files() -> list[Path]:
    """The page's files, relative to ``STATIC_DIR``, sorted."""
    return sorted(
        p.relative_to(STATIC_DIR) for p in STATIC_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )


def write_bundle(out_dir: str | os.PathLike, model: str | os.PathLike | None = None) -> dict:
    """Write the page and ``model`` (default: as ``predict`` picks it) into ``out_dir``; return the manifest."""
    out_dir = Path(out_dir)
    model = Path(model) if model is not None else default_model_path()
    check_target(out_dir)
    bad = vendor.mismatches()
    if bad:
        raise ModelError(
            f"the vendored onnxruntime-web files are missing or changed ({', '.join(bad)}); run 'make web-vendor'"
        )
    predictor = Predictor(model)
    if [str(label) for label in predictor.card["labels"]] != LABELS:
        raise ModelError(
            f"{model}: the page shows class index i as digit i; this model's labels are {predictor.card['labels']}"
        )
    model_bytes = model.read_bytes()

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        files = {}
        for rel in static_files():
            data = (STATIC_DIR / rel).read_bytes()
            write_bytes(building / rel, data)
            files[rel.as_posix()] = len(data)
        write_bytes(building / INT8_FILE, model_bytes)
        files[INT8_FILE] = len(model_bytes)
        write_json(building / CARD_FILE, predictor.card)  # the page applies its temperature and "not a digit" rule
        files[CARD_FILE] = (building / CARD_FILE).stat().st_size
        manifest = {
            "mnist_edge": __version__,
            "onnxruntime_web": vendor.VERSION,
            "model": {"source": model.name, "sha256": hashlib.sha256(model_bytes).hexdigest()},
            "bytes": files,
            "total_bytes": sum(files.values()),
        }
        write_json(building / MANIFEST, manifest)
        os.chmod(building, 0o755)  # mkdtemp makes 0700; a web server may run as another user
        _move_into_place(building, out_dir)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return manifest


def check_target(out_dir: Path) -> None:
    """Refuse a file, or a non-empty folder that is not a bundle (it would be replaced whole)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir} exists and is not a folder; choose a new or empty folder for the web bundle")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MANIFEST).is_file():
        raise UsageError(f"{out_dir} is not empty and holds no web bundle ({MANIFEST}); choose a new or empty folder")


def _move_into_place(building: Path, out_dir: Path) -> None:
    if not out_dir.exists():
        os.replace(building, out_dir)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
    os.replace(out_dir, old)  # onto the empty placeholder folder
    os.replace(building, out_dir)
    shutil.rmtree(old, ignore_errors=True)
