"""Read the model card: a JSON document stored in each exported ONNX file's metadata.

It travels with the model, so a runtime that only has the ``.onnx`` file still knows what the
input must look like, what the outputs mean and how well the model did. Written by
``mnist_edge.export.card``; read and checked here with the standard library alone, against the
schema in ``mnist_edge.contract``.
"""

from __future__ import annotations

import json

from ..contract import (  # noqa: F401 - re-exported: the names the runtime used before 0.2.0
    CARD_KEY,
    CARD_REQUIRED,
    CARD_VERSION,
    LABELS,
    PREPROCESSING_DESCRIPTION,
    PREPROCESSING_SPEC,
)
from ..errors import ModelError


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


def validate_card(card: dict, where: str) -> None:
    """One-line ModelError naming the first field that is missing or of the wrong type."""
    for key, kind in CARD_REQUIRED.items():
        if key not in card:
            raise ModelError(f"{where}: model card has no {key!r} field")
        if not isinstance(card[key], kind) or (kind is int and isinstance(card[key], bool)):
            raise ModelError(
                f"{where}: model card field {key!r} should be {kind.__name__}, not {type(card[key]).__name__}"
            )
    if card["card_version"] > CARD_VERSION:
        raise ModelError(
            f"{where}: model card version {card['card_version']} is newer than this runtime's {CARD_VERSION}"
        )
    if not isinstance(card["preprocessing"].get("spec"), str):
        raise ModelError(f"{where}: model card field 'preprocessing.spec' is missing")
