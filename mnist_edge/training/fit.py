"""Train the MLP on MNIST and record what was trained, on what, and how well.

The test set is only ever used for the final evaluation. When early stopping restores the best
epoch's weights, the metrics describe that epoch (``best_epoch``), the one the saved model is from.
With weight averaging (``ema_momentum``) the validation figures are those of the averaged weights,
measured after every epoch, and the saved model holds the averaged weights of the last epoch (the
raw weights' figures are kept beside them as ``*_raw``).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..contract import DEFAULT_DIR, KERAS_FILE, METRICS_FILE, NUM_CLASSES, SIDE
from ..faults import crash_point
from ..files import atomic_path, write_json
from ..provenance import library_versions, sha256_file
from .data import check_source, load_mnist, subsample, to_model_input
from .keras_env import import_keras
from .model import build_mlp
from .recipes import TrainConfig, check_config

MODEL_FILE = KERAS_FILE  # the name before 0.2.0


def train(
    config: TrainConfig,
    out_dir: str | Path = DEFAULT_DIR,
    data=None,
    verbose: int | str = "auto",
    command: str | None = None,
) -> dict:
    """Train, evaluate on the full test set, write ``model.keras`` and ``metrics.json``; return the metrics.

    ``command`` is the command line that asked for this run; it is recorded so a model card can say
    how to reproduce the model. Inputs are checked before TensorFlow is imported.
    """
    check_config(config)
    check_source(data)
    keras = import_keras()
    import tensorflow as tf

    started = time.perf_counter()
    mnist = load_mnist(data)
    check_config(config, available=len(mnist.x_train))
    x_all, y_all = subsample(mnist.x_train, mnist.y_train, config.train_images, config.seed)
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
    ema = None
    if config.ema_momentum and len(x_val):
        ema = _ema_validation(keras, x_val, y_val)
        callbacks.append(ema)
    early_stopping = None
    if config.patience and len(x_val):
        early_stopping = keras.callbacks.EarlyStopping(
            monitor="val_accuracy", patience=config.patience, restore_best_weights=True
        )
    printed = _printed_set(config)
    negatives = _negative_set(config, x_train)
    history = model.fit(
        _training_dataset(tf, x_train, y_train, config, printed, negatives),
        epochs=config.epochs,
        steps_per_epoch=steps,
        validation_data=(x_val, _one_hot(y_val)) if len(x_val) else None,
        callbacks=callbacks + ([early_stopping] if early_stopping else []),
        shuffle=False,  # the dataset shuffles itself
        verbose=verbose,
    )
    trained_epochs = len(history.history["loss"])
    # the epoch whose weights the model holds now (EarlyStopping restores the best one), 0-based
    kept = _restored_epoch(early_stopping, trained_epochs)
    if config.ema_momentum:
        # fit() ends by copying the averages into the model (Optimizer.finalize_variable_values)
        _check_holds_averages(model)
    probabilities = model.predict(x_test, batch_size=1000, verbose=0)
    out_dir = Path(out_dir)
    crash_point("train:before-save")
    with atomic_path(out_dir / KERAS_FILE, suffix=".keras") as tmp:
        model.save(tmp)
        model_sha256 = sha256_file(tmp)
    crash_point("train:after-model-save")
    figures = history.history
    metrics = {
        "test_accuracy": float((probabilities.argmax(axis=1) == mnist.y_test).mean()),
        "test_loss": _cross_entropy(probabilities, mnist.y_test),
        "train_accuracy": float(figures["accuracy"][kept]),
        "train_loss": float(figures["loss"][kept]),
        "best_epoch": kept + 1,  # 1-based, as Keras prints epochs; the saved model is from this epoch
        "epochs_trained": trained_epochs,
        "weights_from": _weights_from(config, early_stopping),
        "train_examples": int(len(x_train)),
        "validation_examples": int(len(x_val)),
        "test_examples": int(len(x_test)),
        "parameters": int(model.count_params()),
        "config": _config_dict(config),
        "printed_digits": printed.describe() if printed is not None else None,
        "negatives": negatives.describe() if negatives is not None else None,
        "model_sha256": model_sha256,
        "command": command,
        "data": mnist.provenance(),
        "versions": library_versions(),
        "wall_time_s": round(time.perf_counter() - started, 2),
    }
    if ema is not None:
        # the validation figures of the saved (averaged) weights; the raw weights' beside them
        metrics["validation_accuracy"] = ema.accuracy[kept]
        metrics["validation_loss"] = ema.loss[kept]
        metrics["best_validation_accuracy"] = max(ema.accuracy)
        metrics["validation_accuracy_raw"] = float(figures["val_accuracy"][kept])
        metrics["validation_loss_raw"] = float(figures["val_loss"][kept])
        metrics["validation_accuracy_by_epoch"] = ema.accuracy
        metrics["ema_max_abs_difference_from_raw"] = ema.max_difference
    elif len(x_val):
        metrics["validation_accuracy"] = float(figures["val_accuracy"][kept])
        metrics["validation_loss"] = float(figures["val_loss"][kept])
        metrics["best_validation_accuracy"] = float(max(figures["val_accuracy"]))
    write_json(out_dir / METRICS_FILE, metrics)
    return metrics


def _weights_from(config: TrainConfig, early_stopping) -> str:
    if config.ema_momentum:
        return f"last epoch, exponential moving average of the weights (momentum {config.ema_momentum})"
    return "best validation epoch (restored by early stopping)" if early_stopping else "last epoch"


def _ema_pairs(model):
    optimizer = model.optimizer
    return list(zip(optimizer._trainable_variables, optimizer._model_variables_moving_average, strict=True))


def _check_holds_averages(model) -> None:
    """The model must end with the averaged weights: they are what is evaluated, saved and exported."""
    for variable, average in _ema_pairs(model):
        if not np.array_equal(variable.numpy(), average.numpy()):
            raise RuntimeError(f"after training, {variable.path} does not hold its moving average")


def _ema_validation(keras, x_val: np.ndarray, y_val: np.ndarray):
    """A callback measuring, after each epoch, the validation accuracy and loss of the averaged weights.

    It swaps them in with exact copies and puts the raw weights back bit for bit, so training goes on
    exactly as without the measurement.
    """

    class EmaValidation(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.accuracy: list[float] = []
            self.loss: list[float] = []
            self.max_difference = 0.0  # largest |raw - averaged| weight after the latest epoch

        def on_epoch_end(self, epoch, logs=None):
            pairs = _ema_pairs(self.model)
            raw = [variable.numpy() for variable, _ in pairs]
            for variable, average in pairs:
                variable.assign(average)
            probabilities = self.model.predict(x_val, batch_size=1000, verbose=0)
            for (variable, _), values in zip(pairs, raw, strict=True):
                variable.assign(values)
            self.max_difference = max(
                float(np.abs(values - average.numpy()).max()) for (_, average), values in zip(pairs, raw, strict=True)
            )
            self.accuracy.append(float((probabilities.argmax(axis=1) == y_val).mean()))
            self.loss.append(_cross_entropy(probabilities, y_val))
            if logs is not None:
                logs["val_ema_accuracy"] = self.accuracy[-1]

    return EmaValidation()


def _restored_epoch(early_stopping, trained_epochs: int) -> int:
    """0-based epoch of the weights the model ends with."""
    if early_stopping is not None and getattr(early_stopping, "best_weights", None) is not None:
        return int(early_stopping.best_epoch)
    return trained_epochs - 1


def _split_validation(x: np.ndarray, y: np.ndarray, count: int, seed: int):
    if count <= 0:
        return x, y, x[:0], y[:0]
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
    elif config.schedule == "onecycle":
        # one cycle (Smith): warm up from lr/25 over the first 30 % of the steps, then cosine to ~0
        total = config.epochs * steps_per_epoch
        warmup = int(total * 0.3)
        rate = keras.optimizers.schedules.CosineDecay(
            rate / 25, decay_steps=total - warmup, alpha=1e-4, warmup_target=rate, warmup_steps=warmup
        )
    elif config.schedule != "constant":
        raise ValueError(f"unknown schedule {config.schedule!r}")
    averaging = {"use_ema": True, "ema_momentum": config.ema_momentum} if config.ema_momentum else {}
    if config.weight_decay > 0:
        return keras.optimizers.AdamW(learning_rate=rate, weight_decay=config.weight_decay, **averaging)
    return keras.optimizers.Adam(learning_rate=rate, **averaging)


def _printed_set(config: TrainConfig):
    """The printed digits of the training fonts when the recipe mixes them in (None otherwise or without fonts)."""
    if config.printed_digits <= 0:
        return None
    from .printed import printed_digits

    printed = printed_digits()
    return printed if len(printed.x) else None


def _negative_set(config: TrainConfig, x_train: np.ndarray):
    """The non-digits for outlier exposure when the recipe mixes them in (None otherwise). Overlaid pairs
    come from the training split only, never from the validation digits."""
    if config.negatives <= 0:
        return None
    from .negatives import make_negatives

    digits = np.rint(x_train * 255).astype(np.uint8).reshape(-1, SIDE, SIDE)
    return make_negatives(digits, seed=config.seed, other_scripts=config.other_scripts)


def _training_dataset(tf, x: np.ndarray, y: np.ndarray, config: TrainConfig, printed=None, negatives=None):
    """Shuffled, batched, endlessly repeated; per batch (seeded by run seed and batch number), when the
    recipe asks: a share of the examples replaced by printed digits, another by non-digits with a uniform
    target (outlier exposure), then affine/elastic distortion, then pen width, blur, broken strokes and noise."""
    from .augment import augment_batch, picture_noise_batch

    ds = tf.data.Dataset.from_tensor_slices((x, _one_hot(y)))
    ds = ds.shuffle(len(x), seed=config.seed, reshuffle_each_iteration=True).repeat().batch(config.batch_size)
    distortion, noise = config.distortion, config.picture_noise
    mix = printed is not None and config.printed_digits > 0
    expose = negatives is not None and len(negatives.x) > 0 and config.negatives > 0
    if distortion is None and not mix and not expose and (noise is None or not noise.active):
        return ds.prefetch(tf.data.AUTOTUNE)
    pools = []  # (share, fold-in ids of its two random draws, images, labels) swapped into every batch
    if mix:
        pools.append((config.printed_digits, (1, 2), tf.constant(printed.x), tf.constant(_one_hot(printed.y))))
    if expose:
        uniform = np.full((len(negatives.x), NUM_CLASSES), 1.0 / NUM_CLASSES, np.float32)
        pools.append((config.negatives, (4, 5), tf.constant(negatives.x), tf.constant(uniform)))

    def transform(step, batch):
        images, labels = batch
        seed = tf.stack([tf.constant(config.seed, tf.int64), step])
        for share, folds, pool_x, pool_y in pools:
            images, labels = _swap_in(tf, images, labels, seed, folds, share, pool_x, pool_y)
        if distortion is not None:
            images = augment_batch(images, seed, distortion)
        if noise is not None and noise.active:
            images = picture_noise_batch(images, tf.random.experimental.stateless_fold_in(seed, 3), noise)
        return images, labels

    ds = ds.enumerate().map(transform, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def _swap_in(tf, images, labels, seed, folds, share, pool_x, pool_y):
    """Replace a ``share`` of the batch's examples by examples drawn from a pool, seeded by ``seed``
    folded with ``folds`` (one id for which examples, one for which pool entries)."""
    fold_in = tf.random.experimental.stateless_fold_in
    n = tf.shape(images)[0]
    swap = tf.random.stateless_uniform([n], seed=fold_in(seed, folds[0])) < share
    pick = tf.random.stateless_uniform([n], seed=fold_in(seed, folds[1]), maxval=pool_x.shape[0], dtype=tf.int32)
    images = tf.where(swap[:, None], tf.gather(pool_x, pick), images)
    return images, tf.where(swap[:, None], tf.gather(pool_y, pick), labels)


def _cross_entropy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    picked = probabilities[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(picked, 1e-7, 1.0)).mean())


def _config_dict(config: TrainConfig) -> dict:
    out = asdict(config)  # nested: distortion and picture_noise with every probability
    out["hidden"] = list(config.hidden)
    return out
