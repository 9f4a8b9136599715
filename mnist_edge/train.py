"""Train the MLP on MNIST and record what was trained, on what, and how well.

Two recipes ship (``RECIPES``): ``seed`` is the classic Keras tutorial exactly;
``edge`` keeps the same network (and so the same size on the edge) but trains it
longer on distorted digits with a cosine learning-rate schedule, label
smoothing, weight decay and early stopping on a validation split carved from the
training set. The test set is only ever used for the final evaluation.
"""

from __future__ import annotations

import dataclasses
import math
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from .atomic import atomic_path, write_json
from .augment import Distortion
from .hashing import sha256_file
from .data import load_mnist, subsample, to_model_input
from .model import NUM_CLASSES, build_mlp
from .tfenv import import_keras

MODEL_FILE = "model.keras"
METRICS_FILE = "metrics.json"


@dataclass(frozen=True)
class TrainConfig:
    recipe: str = "custom"
    epochs: int = 5
    seed: int = 0
    hidden: tuple[int, ...] = field(default=(512, 512))
    dropout: float = 0.2
    batch_size: int = 128
    learning_rate: float = 1e-3
    limit: int | None = None  # train on a seeded random subset of this many images
    schedule: str = "constant"  # or "cosine" (decay to 1 % over all epochs, 1 epoch warm-up)
    weight_decay: float = 0.0  # decoupled (AdamW) when > 0
    label_smoothing: float = 0.0
    distortion: Distortion | None = None  # random affine/elastic distortion of training batches
    validation: int = 0  # training images held out to pick the best epoch
    patience: int | None = None  # early stopping on validation accuracy

    def replace(self, **changes) -> "TrainConfig":
        """A copy with the given fields changed; ``None`` values are ignored."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


RECIPES = {
    "seed": TrainConfig(recipe="seed"),
    "edge": TrainConfig(
        recipe="edge",
        epochs=40,
        dropout=0.25,
        batch_size=128,
        learning_rate=2e-3,
        schedule="cosine",
        weight_decay=2e-5,
        label_smoothing=0.1,
        distortion=Distortion(),
        validation=5000,
        patience=10,
    ),
}
DEFAULT_RECIPE = "edge"


def train(
    config: TrainConfig, out_dir: str | Path = "artifacts", data=None, verbose: int | str = "auto", command: str | None = None
) -> dict:
    """Train, evaluate on the full test set, write ``model.keras`` and ``metrics.json``; return the metrics.

    ``command`` is the command line that asked for this run; it is recorded so a model card can say
    how to reproduce the model.
    """
    keras = import_keras()
    import tensorflow as tf

    started = time.perf_counter()
    mnist = load_mnist(data)
    x_all, y_all = subsample(mnist.x_train, mnist.y_train, config.limit, config.seed)
    x_train, y_train, x_val, y_val = _split_validation(to_model_input(x_all), y_all, config.validation, config.seed)
    x_test = to_model_input(mnist.x_test)

    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    model = build_mlp(config.hidden, config.dropout)
    steps = math.ceil(len(x_train) / config.batch_size)
    model.compile(
        optimizer=_optimizer(keras, config, steps),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
    )
    callbacks = []
    if config.patience and len(x_val):
        callbacks.append(
            keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=config.patience, restore_best_weights=True)
        )
    history = model.fit(
        _training_dataset(tf, x_train, y_train, config),
        epochs=config.epochs,
        steps_per_epoch=steps,
        validation_data=(x_val, _one_hot(y_val)) if len(x_val) else None,
        callbacks=callbacks,
        shuffle=False,  # the dataset shuffles itself
        verbose=verbose,
    )
    probabilities = model.predict(x_test, batch_size=1000, verbose=0)
    out_dir = Path(out_dir)
    with atomic_path(out_dir / MODEL_FILE, suffix=".keras") as tmp:
        model.save(tmp)
        model_sha256 = sha256_file(tmp)
    trained_epochs = len(history.history["loss"])
    metrics = {
        "test_accuracy": float((probabilities.argmax(axis=1) == mnist.y_test).mean()),
        "test_loss": _cross_entropy(probabilities, mnist.y_test),
        "train_accuracy": float(history.history["accuracy"][-1]),
        "train_loss": float(history.history["loss"][-1]),
        "epochs_trained": trained_epochs,
        "train_examples": int(len(x_train)),
        "validation_examples": int(len(x_val)),
        "test_examples": int(len(x_test)),
        "parameters": int(model.count_params()),
        "config": _config_dict(config),
        "model_sha256": model_sha256,
        "command": command,
        "data": mnist.provenance(),
        "versions": library_versions(),
        "wall_time_s": round(time.perf_counter() - started, 2),
    }
    if len(x_val):
        metrics["best_validation_accuracy"] = float(max(history.history["val_accuracy"]))
    write_json(out_dir / METRICS_FILE, metrics)
    return metrics


def _split_validation(x: np.ndarray, y: np.ndarray, count: int, seed: int):
    if count <= 0:
        return x, y, x[:0], y[:0]
    if count >= len(x):
        raise ValueError(f"validation split of {count} leaves no training images out of {len(x)}")
    order = np.random.default_rng(seed + 1).permutation(len(x))
    val, train = np.sort(order[:count]), np.sort(order[count:])
    return x[train], y[train], x[val], y[val]


def _one_hot(labels: np.ndarray) -> np.ndarray:
    return np.eye(NUM_CLASSES, dtype=np.float32)[labels]


def _optimizer(keras, config: TrainConfig, steps_per_epoch: int):
    rate = config.learning_rate
    if config.schedule == "cosine":
        total = config.epochs * steps_per_epoch
        warmup = min(steps_per_epoch, total // 10)
        rate = keras.optimizers.schedules.CosineDecay(
            rate / 10, decay_steps=total - warmup, alpha=0.01, warmup_target=rate, warmup_steps=warmup
        )
    elif config.schedule != "constant":
        raise ValueError(f"unknown schedule {config.schedule!r}")
    if config.weight_decay > 0:
        return keras.optimizers.AdamW(learning_rate=rate, weight_decay=config.weight_decay)
    return keras.optimizers.Adam(learning_rate=rate)


def _training_dataset(tf, x: np.ndarray, y: np.ndarray, config: TrainConfig):
    """Shuffled, batched, endlessly repeated; distorted per batch when the recipe asks for it."""
    from .augment import augment_batch

    ds = tf.data.Dataset.from_tensor_slices((x, _one_hot(y)))
    ds = ds.shuffle(len(x), seed=config.seed, reshuffle_each_iteration=True).repeat().batch(config.batch_size)
    if config.distortion is not None:
        distortion = config.distortion

        def distort(step, batch):
            images, labels = batch
            seed = tf.stack([tf.constant(config.seed, tf.int64), step])
            return augment_batch(images, seed, distortion), labels

        ds = ds.enumerate().map(distort, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def _cross_entropy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    picked = probabilities[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(picked, 1e-7, 1.0)).mean())


def _config_dict(config: TrainConfig) -> dict:
    out = asdict(config)
    out["hidden"] = list(config.hidden)
    return out


def library_versions() -> dict:
    """Versions of what shaped the model; only modules already imported are asked."""
    import sys

    versions = {"mnist_edge": __version__, "python": platform.python_version()}
    for name in ("numpy", "tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime"):
        module = sys.modules.get(name)
        if module is not None:
            versions[name] = getattr(module, "__version__", "unknown")
    return versions
