"""Read the model card: a JSON document stored in each exported ONNX file's metadata.

It travels with the model, so a runtime that only has the ``.onnx`` file still knows what the
input must look like, what the outputs mean and how well the model did. Written by
``mnist_edge.export.card``; read and checked here with the standard library alone, against the
schema in ``mnist_edge.contract``.
"""

from __future__ import annotations

import json
import math

from ..contract import (  # noqa: F401 - re-exported: the names the runtime used before 0.2.0
    CARD_HASH_FIELDS,
    CARD_KEY,
    CARD_REQUIRED,
    CARD_VERSION,
    CARD_VERSIONS_READ,
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
    """One-line ModelError naming the first field that is missing, of the wrong type or unknown."""
    if not isinstance(card, dict):
        raise ModelError(f"{where}: model card is a JSON {type(card).__name__}, not an object")
    for key, kind in CARD_REQUIRED.items():
        if key not in card:
            raise ModelError(f"{where}: model card has no {key!r} field")
        if not isinstance(card[key], kind) or (kind is int and isinstance(card[key], bool)):
            raise ModelError(
                f"{where}: model card field {key!r} should be {_json_type(kind)}, not {_json_name(card[key])}"
            )
    version = card["card_version"]
    if version not in CARD_VERSIONS_READ:
        raise ModelError(
            f"{where}: model card field 'card_version' is {version!r}, unknown to this runtime (it reads {', '.join(map(str, CARD_VERSIONS_READ))})"
        )
    spec = card["preprocessing"].get("spec")
    if not isinstance(spec, str):
        raise ModelError(f"{where}: model card field 'preprocessing.spec' should be string, not {_json_name(spec)}")
    labels = card["labels"]
    if len(labels) != len(LABELS) or not all(isinstance(x, str) for x in labels):
        raise ModelError(f"{where}: model card field 'labels' should be {len(LABELS)} strings")
    for key in CARD_HASH_FIELDS:
        if key not in card and version < 2:
            continue
        value = card.get(key)
        if not (isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)):
            raise ModelError(
                f"{where}: model card field {key!r} should be a 64-digit hex SHA-256, not {_json_name(value)}"
            )

    _validate_trust(card, where)


def _validate_trust(card: dict, where: str) -> None:
    """The optional ``calibration`` and ``rejection`` fields (issue 13); older cards have neither."""
    for key in ("calibration", "rejection"):
        if key in card and not isinstance(card[key], dict):
            raise ModelError(f"{where}: model card field {key!r} should be object, not {_json_name(card[key])}")
    checks = (
        ("calibration", "temperature", (int, float), lambda v: math.isfinite(v) and v > 0, "a positive number"),
        ("rejection", "threshold", (int, float), math.isfinite, "a number"),
        ("rejection", "max_strokes", int, lambda v: v >= 1, "an integer of at least 1"),
        ("rejection", "max_loops", int, lambda v: v >= 0, "a non-negative integer"),
        ("rejection", "max_islands", int, lambda v: v >= 0, "a non-negative integer"),
    )
    for section, key, kinds, ok, wanted in checks:
        value = card.get(section, {}).get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, kinds) or not ok(value):
            raise ModelError(f"{where}: model card field '{section}.{key}' should be {wanted}, not {_json_name(value)}")


def _json_type(kind: type) -> str:
    return {dict: "object", list: "array", int: "integer", str: "string", float: "number"}.get(kind, kind.__name__)


def _json_name(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return f"string {value[:20]!r}"
    return _json_type(type(value)) + (f" {value}" if isinstance(value, (int, float)) else "")
