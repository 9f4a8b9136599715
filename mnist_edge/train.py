"""Train the MLP on MNIST and record what was trained, on what, and how well."""

from __future__ import annotations

import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import __version__
from .atomic import atomic_path, write_json
from .data import load_mnist, subsample, to_model_input
from .model import build_mlp
from .tfenv import import_keras

MODEL_FILE = "model.keras"
METRICS_FILE = "metrics.json"


@dataclass
class TrainConfig:
    epochs: int = 5
    seed: int = 0
    hidden: tuple[int, ...] = field(default=(512, 512))
    dropout: float = 0.2
    batch_size: int = 128
    learning_rate: float = 1e-3
    limit: int | None = None  # train on a seeded random subset of this many images


def train(config: TrainConfig, out_dir: str | Path = "artifacts", data=None, verbose: int | str = "auto") -> dict:
    """Train, evaluate on the full test set, write ``model.keras`` and ``metrics.json``; return the metrics."""
    keras = import_keras()
    import tensorflow as tf

    started = time.perf_counter()
    mnist = load_mnist(data)
    x_train, y_train = subsample(mnist.x_train, mnist.y_train, config.limit, config.seed)
    x_train, x_test = to_model_input(x_train), to_model_input(mnist.x_test)

    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    model = build_mlp(config.hidden, config.dropout, config.learning_rate)
    history = model.fit(
        x_train,
        y_train,
        batch_size=config.batch_size,
        epochs=config.epochs,
        shuffle=True,
        verbose=verbose,
    )
    test_loss, test_accuracy = model.evaluate(x_test, mnist.y_test, batch_size=1000, verbose=0)

    out_dir = Path(out_dir)
    with atomic_path(out_dir / MODEL_FILE, suffix=".keras") as tmp:
        model.save(tmp)
    metrics = {
        "test_accuracy": float(test_accuracy),
        "test_loss": float(test_loss),
        "train_accuracy": float(history.history["accuracy"][-1]),
        "train_loss": float(history.history["loss"][-1]),
        "train_examples": int(len(x_train)),
        "test_examples": int(len(x_test)),
        "parameters": int(model.count_params()),
        "config": {**asdict(config), "hidden": list(config.hidden)},
        "data": mnist.provenance(),
        "versions": library_versions(),
        "wall_time_s": round(time.perf_counter() - started, 2),
    }
    write_json(out_dir / METRICS_FILE, metrics)
    return metrics


def library_versions() -> dict:
    """Versions of what shaped the model; only modules already imported are asked."""
    import sys

    versions = {"mnist_edge": __version__, "python": platform.python_version()}
    for name in ("numpy", "tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime"):
        module = sys.modules.get(name)
        if module is not None:
            versions[name] = getattr(module, "__version__", "unknown")
    return versions
