"""Keras → ONNX (fp32), optional int8, a model card in each file, then the parity gate.

Nothing reaches its final name before the gate passes: models are written to
temporary files beside their destination, checked, stamped with their card and
only then renamed. A failed gate or a crash leaves earlier exports untouched.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__
from .atomic import temp_beside, write_json
from .data import load_mnist, subsample, to_model_input
from .errors import ModelError, ParityError, first_line
from .fusion import dequantize_last_gemm, fuse_dense_layers
from .hashing import sha256_file
from .model import INPUT_NAME, INPUT_SIZE, OUTPUT_NAME
from .parity import FP32, INT8, Gate, parity_report
from .runtime.integrity import graph_sha256
from .runtime.card import CARD_KEY, CARD_VERSION, LABELS, PREPROCESSING_DESCRIPTION, PREPROCESSING_SPEC
from .runtime.predictor import FP32_FILE, INT8_FILE
from .tfenv import import_keras
from .train import library_versions

OPSET = 17
PARITY_FILE = "parity.json"
QUANTIZE_MODES = ("static", "dynamic")


@dataclass
class ExportConfig:
    quantize: str | None = None  # None, "static" or "dynamic"
    calibration_images: int = 1000
    seed: int = 0
    parity: bool = True
    parity_limit: int | None = None  # compare on the first N test images only
    measure_speed: bool = True
    gate: Gate = Gate()
    command: str | None = None  # the command line that ran the export, for the card


def export(model_path: str | Path, out_dir: str | Path = "artifacts", config: ExportConfig = ExportConfig(), data=None) -> dict:
    """Export ``model_path`` to ONNX in ``out_dir``; return a summary with the parity report."""
    if config.quantize not in (None, *QUANTIZE_MODES):
        raise ValueError(f"quantize must be one of {QUANTIZE_MODES}, not {config.quantize!r}")
    model_path, out_dir = Path(model_path), Path(out_dir)
    keras_model = load_keras_model(model_path)
    mnist = load_mnist(data)
    x_test, y_test = to_model_input(mnist.x_test), mnist.y_test
    if config.parity_limit:
        x_test, y_test = x_test[: config.parity_limit], y_test[: config.parity_limit]

    out_dir.mkdir(parents=True, exist_ok=True)
    with _staging(out_dir) as staged:
        staged[FP32] = temp_beside(out_dir / FP32_FILE)
        staged[FP32].write_bytes(keras_to_onnx(keras_model).SerializeToString())
        if config.quantize:
            x_train, _ = subsample(mnist.x_train, mnist.y_train, config.calibration_images, config.seed)
            staged[INT8] = temp_beside(out_dir / INT8_FILE)
            quantize(staged[FP32], staged[INT8], config.quantize, to_model_input(x_train))

        report = parity_report(keras_model, staged, x_test, y_test, model_path, config.gate, config.measure_speed)
        if config.parity and not report["passed"]:
            raise ParityError("parity gate failed: " + "; ".join(report["failures"]) + "; previous exports kept")

        keras_sha = sha256_file(model_path)
        source = {
            "keras_model": model_path.name,
            "keras_model_sha256": keras_sha,
            "keras_test_accuracy": report["models"]["keras"]["accuracy"],
            "data": mnist.provenance(),
            "training": training_record(model_path, keras_sha),
            "export_command": config.command,
        }
        for kind, path in staged.items():
            mode = None if kind == FP32 else config.quantize
            card = model_card(source, mode, report["models"][kind], len(x_test), config)
            add_card(path, card)
        finals = {FP32: out_dir / FP32_FILE, INT8: out_dir / INT8_FILE}
        for kind, path in staged.items():
            os.replace(path, finals[kind])
        staged.clear()
    removed = []
    if not config.quantize and _is_stale(finals[INT8], keras_sha):
        finals[INT8].unlink()  # else `predict` would go on picking an int8 model of another network
        removed.append(str(finals[INT8]))
    write_json(out_dir / PARITY_FILE, report)
    files = {k: str(finals[k]) for k in report["models"] if k in finals}
    return {"files": files, "removed": removed, "parity": report}


def _is_stale(path: Path, keras_sha: str) -> bool:
    """True when ``path`` is an exported model whose card names a different source Keras model."""
    import onnx

    if not path.is_file():
        return False
    try:
        props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
        return json.loads(props[CARD_KEY])["source"]["keras_model_sha256"] != keras_sha
    except Exception:  # unreadable or card-less: not ours to delete
        return False


# --- conversion ------------------------------------------------------------------------------


def load_keras_model(path: Path):
    keras = import_keras()
    if not path.is_file():
        raise ModelError(f"{path}: no such Keras model; run 'mnist-edge train' first")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as e:
        raise ModelError(f"{path}: not a loadable Keras model ({first_line(e)})") from None


def keras_to_onnx(keras_model):
    """Convert with tf2onnx through a tf.function (``from_keras`` fails on Keras 3 models)."""
    import tensorflow as tf
    import tf2onnx

    spec = (tf.TensorSpec((None, INPUT_SIZE), tf.float32, name=INPUT_NAME),)
    function = tf.function(lambda x: keras_model(x, training=False))
    proto, _ = tf2onnx.convert.from_function(function, input_signature=spec, opset=OPSET)
    _name_io(proto)
    return proto


def _name_io(proto) -> None:
    """Give the graph output a stable name and both batch dimensions the name ``batch``."""
    graph = proto.graph
    old = graph.output[0].name
    for node in graph.node:
        for i, name in enumerate(node.output):
            if name == old:
                node.output[i] = OUTPUT_NAME
    graph.output[0].name = OUTPUT_NAME
    for value in (graph.input[0], graph.output[0]):
        value.type.tensor_type.shape.dim[0].dim_param = "batch"


def quantize(fp32_path: Path, int8_path: Path, mode: str, calibration: np.ndarray) -> None:
    """Write an int8 copy of ``fp32_path``: static (calibrated on ``calibration``) or dynamic.

    Static: the Dense layers are first fused into Gemm nodes, quantized per tensor (uint8
    activations, int8 weights) into one QGemm each, and the last QGemm writes float logits for the
    float Softmax. Five nodes instead of nine; why each choice, with figures: benchmarks/int8_variants.py.
    """
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static

    root = logging.getLogger()
    saved_level = root.level
    root.setLevel(logging.ERROR)  # the quantizer logs generic advice on the root logger
    try:
        if mode == "dynamic":
            quantize_dynamic(str(fp32_path), str(int8_path), weight_type=QuantType.QInt8)
            return
        fused = onnx.load(str(fp32_path))
        fuse_dense_layers(fused)
        onnx.save(fused, str(int8_path))  # the quantizer reads a file; int8_path is our temp file
        quantize_static(
            str(int8_path),
            str(int8_path),
            _CalibrationReader(calibration),
            quant_format=QuantFormat.QOperator,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=False,  # per-channel QGemm runs 1.3x slower at batch 1 and is no more accurate here
            op_types_to_quantize=["Gemm", "Relu"],  # softmax stays float: smooth confidences
        )
        quantized = onnx.load(str(int8_path))
        dequantize_last_gemm(quantized)
        onnx.save(quantized, str(int8_path))
    finally:
        root.setLevel(saved_level)


class _CalibrationReader:
    """Feeds calibration images to onnxruntime's static quantizer in batches."""

    def __init__(self, images: np.ndarray, batch: int = 100):
        self._batches = iter([images[i : i + batch] for i in range(0, len(images), batch)])

    def get_next(self):
        batch = next(self._batches, None)
        return None if batch is None else {INPUT_NAME: batch}

    def rewind(self):  # part of the reader protocol; a single pass is all we offer
        pass


# --- model card ------------------------------------------------------------------------------


def model_card(source: dict, quantization: str | None, figures: dict, test_images: int, config: ExportConfig) -> dict:
    return {
        "card_version": CARD_VERSION,
        "name": "mnist-edge MLP",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "input": {"name": INPUT_NAME, "shape": ["batch", INPUT_SIZE], "dtype": "float32", "range": [0.0, 1.0]},
        "output": {"name": OUTPUT_NAME, "shape": ["batch", len(LABELS)], "meaning": "class probabilities"},
        "labels": LABELS,
        "preprocessing": {"spec": PREPROCESSING_SPEC, "description": PREPROCESSING_DESCRIPTION},
        "quantization": _quantization_text(quantization, config),
        "opset": OPSET,
        "source": source,
        "test_accuracy": figures["accuracy"],
        "test_images": test_images,
        "agreement_with_keras": figures["agreement"],
        "versions": library_versions(),
    }


def training_record(model_path: Path, keras_sha: str) -> dict | None:
    """What train recorded for this very model (metrics.json beside it, matched by hash), if anything."""
    from .train import METRICS_FILE

    try:
        metrics = json.loads((model_path.parent / METRICS_FILE).read_text())
    except (OSError, ValueError):
        return None
    if metrics.get("model_sha256") != keras_sha:
        return None
    keep = ("command", "config", "epochs_trained", "test_accuracy", "parameters", "wall_time_s", "versions")
    return {k: metrics[k] for k in keep if k in metrics}


def _quantization_text(mode: str | None, config: ExportConfig) -> str:
    if mode is None:
        return "none (float32)"
    if mode == "dynamic":
        return "int8 dynamic (weights int8 per tensor, activations quantized at run time)"
    return (
        "int8 static QOperator: one QGemm per Dense layer (weights int8 per tensor, activations uint8, "
        f"{config.calibration_images} training images for calibration), float logits and softmax"
    )


def add_card(path: Path, card: dict) -> None:
    """Store the card in the ONNX file's metadata (rewrites ``path`` in place; it is still a temp file)."""
    import onnx

    proto = onnx.load(str(path))
    card = {**card, "graph_sha256": graph_sha256(proto.SerializeToString())}
    del proto.metadata_props[:]
    entry = proto.metadata_props.add()
    entry.key, entry.value = CARD_KEY, json.dumps(card, sort_keys=True)
    proto.producer_name, proto.producer_version = "mnist-edge", __version__
    proto.doc_string = "MNIST digit classifier exported by mnist-edge; see metadata key " + CARD_KEY
    onnx.save(proto, str(path))


# --- helpers ---------------------------------------------------------------------------------


@contextlib.contextmanager
def _staging(out_dir: Path):
    """A dict of kind → temp path; whatever is still in it on exit is deleted."""
    staged: dict[str, Path] = {}
    try:
        yield staged
    finally:
        for path in staged.values():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
