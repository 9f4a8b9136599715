"""The network: the classic Keras MNIST multilayer perceptron (a new architecture goes here)."""

from __future__ import annotations

from collections.abc import Sequence

from ..contract import INPUT_NAME, INPUT_SIZE, NUM_CLASSES, OUTPUT_NAME
from .keras_env import import_keras


def build_mlp(hidden: Sequence[int] = (512, 512), dropout: float = 0.2):
    """784 → [Dense relu → Dropout] × len(hidden) → Dense 10 softmax (not compiled: training picks the optimizer)."""
    keras = import_keras()
    layers = [keras.Input(shape=(INPUT_SIZE,), name=INPUT_NAME)]
    for i, units in enumerate(hidden, start=1):
        layers.append(keras.layers.Dense(units, activation="relu", name=f"dense_{i}"))
        if dropout > 0:
            layers.append(keras.layers.Dropout(dropout, name=f"dropout_{i}"))
    layers.append(keras.layers.Dense(NUM_CLASSES, activation="softmax", name=OUTPUT_NAME))
    return keras.Sequential(layers, name="mnist_mlp")
