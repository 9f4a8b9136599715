"""The network: the classic Keras MNIST multilayer perceptron."""

from __future__ import annotations

from typing import Sequence

from .tfenv import import_keras

INPUT_NAME = "pixels"
OUTPUT_NAME = "probabilities"
INPUT_SIZE = 28 * 28
NUM_CLASSES = 10


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

