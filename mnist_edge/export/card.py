"""Write the model card: a JSON document in each exported ONNX file's metadata (read by ``runtime.card``)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from .. import __version__
from ..contract import (
    CARD_KEY,
    CARD_VERSION,
    INPUT_NAME,
    INPUT_SIZE,
    LABELS,
    METRICS_FILE,
    OUTPUT_NAME,
    PREPROCESSING_DESCRIPTION,
    PREPROCESSING_SPEC,
)
from ..provenance import library_versions
from ..runtime.integrity import seal
from .convert import OPSET
from .portable import PORTABLE_OPSET


def model_card(
    source: dict, quantization: str | None, figures: dict, test_images: int, calibration_images: int
) -> dict:
    return {
        "card_version": CARD_VERSION,
        "name": "mnist-edge MLP",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "input": {"name": INPUT_NAME, "shape": ["batch", INPUT_SIZE], "dtype": "float32", "range": [0.0, 1.0]},
        "output": {"name": OUTPUT_NAME, "shape": ["batch", len(LABELS)], "meaning": "class probabilities"},
        "labels": LABELS,
        "preprocessing": {"spec": PREPROCESSING_SPEC, "description": PREPROCESSING_DESCRIPTION},
        "quantization": quantization_text(quantization, calibration_images),
        "opset": PORTABLE_OPSET if quantization == "portable" else OPSET,
        "source": source,
        "test_accuracy": figures["accuracy"],
        "test_images": test_images,
        "agreement_with_keras": figures["agreement"],
        "versions": library_versions(),
    }


def training_record(model_path: Path, keras_sha: str) -> dict | None:
    """What train recorded for this very model (metrics.json beside it, matched by hash), if anything."""
    try:
        metrics = json.loads((Path(model_path).parent / METRICS_FILE).read_text())
    except (OSError, ValueError):
        return None
    if metrics.get("model_sha256") != keras_sha:
        return None
    keep = (
        "command", "config", "epochs_trained", "best_epoch", "test_accuracy", "parameters", "wall_time_s", "versions"
    )  # fmt: skip
    return {k: metrics[k] for k in keep if k in metrics}


def quantization_text(mode: str | None, calibration_images: int) -> str:
    if mode is None:
        return "none (float32)"
    if mode == "dynamic":
        return "int8 dynamic (weights int8 per tensor, activations quantized at run time)"
    if mode == "portable":
        return (
            "int8 portable: default-domain ONNX ops only (opset 19), QuantizeLinear/DequantizeLinear around one Gemm "
            f"per Dense layer (weights int8 per tensor, activations uint8, {calibration_images} training images for "
            "calibration), float biases, float logits and softmax; for any ONNX runtime"
        )
    return (
        "int8 static QOperator: one QGemm per Dense layer (weights int8 per tensor, activations uint8, "
        f"{calibration_images} training images for calibration), float logits and softmax"
    )


def add_card(path: Path, card: dict) -> None:
    """Seal the card into the ONNX file (rewrites ``path`` in place; it is still a temp file).

    The model is serialized without metadata, then the card is appended as its last field with
    ``graph_sha256`` and the seal ``content_sha256`` filled in (see ``runtime.integrity``).
    """
    import onnx

    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    proto.producer_name, proto.producer_version = "mnist-edge", __version__
    proto.doc_string = "MNIST digit classifier exported by mnist-edge; see metadata key " + CARD_KEY
    Path(path).write_bytes(seal(proto.SerializeToString(), card))


def card_source_keras_sha(path: Path) -> str | None:
    """The source Keras model's SHA-256 recorded in an exported file's card; None if unreadable or card-less."""
    import onnx

    try:
        props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
        return json.loads(props[CARD_KEY])["source"]["keras_model_sha256"]
    except Exception:
        return None
