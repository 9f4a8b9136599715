"""The model card: a JSON document stored in each exported ONNX file's metadata.

It travels with the model, so a runtime that only has the ``.onnx`` file still
knows what the input must look like, what the outputs mean and how well the
model did. Written by ``mnist_edge.export``; read here with onnxruntime alone.
"""

from __future__ import annotations

import json

CARD_KEY = "mnist_edge.card"
CARD_VERSION = 1

# Bump when preprocessing changes in a way that changes what the model sees.
PREPROCESSING_SPEC = "mnist-edge-preprocess/1"
PREPROCESSING_DESCRIPTION = (
    "grayscale, light digit on dark background, digit scaled to fit 20x20 keeping aspect ratio, "
    "centred by centre of mass in a 28x28 field, flattened row-major to 784 float32 values in [0, 1]"
)
LABELS = [str(d) for d in range(10)]


def card_from_metadata(metadata: dict[str, str]) -> dict | None:
    """Parse the card from an ONNX model's custom metadata map; None when there is none."""
    text = metadata.get(CARD_KEY)
    if text is None:
        return None
    try:
        card = json.loads(text)
    except ValueError:
        return None
    return card if isinstance(card, dict) else None
