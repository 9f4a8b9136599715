"""Seal an ONNX model and its card together; check the seal without the onnx package.

An exported file is laid out as ``body + card``: ``body`` is the serialized ``ModelProto``
without any metadata, and ``card`` is one ``metadata_props`` entry (field 14, key
``mnist_edge.card``) appended as the file's last top-level field, its JSON in canonical form.
The card's ``content_sha256`` is the SHA-256 of ``body`` followed by the card's canonical JSON
without that one field, so it covers every byte onnxruntime reads and every other field of the
card. :func:`verify` refuses any file that is not exactly that shape: a second ``graph`` field
appended by hand (protobuf merges it into the first), fields ONNX does not define, a second
metadata entry, a card that is not last, truncation.

This is an integrity check, not a signature: whoever can rewrite the file can also re-seal it.
Reading the wire format needs no protobuf library (varint keys and lengths).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from ..contract import CARD_KEY
from ..errors import ModelError

GRAPH_FIELD = 7  # ModelProto.graph
METADATA_FIELD = 14  # ModelProto.metadata_props (StringStringEntryProto: key = 1, value = 2)
DIGEST_FIELD = "content_sha256"  # the card field that holds the seal
_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5

# ModelProto's top-level fields (onnx.proto): number → (wire type, repeated)
MODEL_FIELDS = {
    1: (_VARINT, False),  # ir_version
    2: (_LENGTH, False),  # producer_name
    3: (_LENGTH, False),  # producer_version
    4: (_LENGTH, False),  # domain
    5: (_VARINT, False),  # model_version
    6: (_LENGTH, False),  # doc_string
    7: (_LENGTH, False),  # graph
    8: (_LENGTH, True),  # opset_import
    14: (_LENGTH, True),  # metadata_props
    20: (_LENGTH, True),  # training_info
    25: (_LENGTH, True),  # functions
    26: (_LENGTH, True),  # configuration
}


@dataclass(frozen=True)
class Field:
    number: int
    wire: int
    start: int  # first byte of the key
    value_start: int  # first byte of the payload (after the length, for length-delimited fields)
    end: int  # one past the last byte


def fields(data: bytes) -> list[Field]:
    """The top-level fields of a serialized protobuf message, in file order."""
    out, pos, end = [], 0, len(data)
    while pos < end:
        start = pos
        key, pos = _read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ModelError(f"not an ONNX model (field number 0 at byte {start})")
        if wire == _VARINT:
            _, pos = _read_varint(data, pos)
            value_start = start
        elif wire in (_FIXED64, _FIXED32):
            value_start, pos = pos, pos + (8 if wire == _FIXED64 else 4)
        elif wire == _LENGTH:
            size, value_start = _read_varint(data, pos)
            pos = value_start + size
        else:
            raise ModelError(f"not an ONNX model (wire type {wire} at byte {start})")
        if pos > end:
            raise ModelError("truncated ONNX file")
        out.append(Field(number, wire, start, value_start, pos))
    return out


def graph_sha256(model: bytes) -> str:
    """SHA-256 hex digest of the (first) graph field of a serialized ONNX model."""
    for f in fields(model):
        if f.number == GRAPH_FIELD and f.wire == _LENGTH:
            return hashlib.sha256(model[f.value_start : f.end]).hexdigest()
    raise ModelError("not an ONNX model (no graph)")


def canonical_json(card: dict) -> str:
    """The one spelling of a card that :func:`seal` writes and :func:`verify` accepts."""
    try:
        return json.dumps(card, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ModelError(f"model card is not plain JSON ({e})") from None


def content_sha256(body: bytes, card: dict) -> str:
    """The seal: SHA-256 of the model bytes without the card, then the card without its seal."""
    rest = {k: v for k, v in card.items() if k != DIGEST_FIELD}
    return hashlib.sha256(body + b"\n" + canonical_json(rest).encode()).hexdigest()


def strip_metadata(model: bytes) -> bytes:
    """The model's bytes with every metadata_props entry removed, all other bytes as they were."""
    return b"".join(model[f.start : f.end] for f in fields(model) if f.number != METADATA_FIELD)


def seal(body: bytes, card: dict) -> bytes:
    """``body`` (a serialized ModelProto without metadata) with ``card`` appended, sealed.

    Fills in the card's ``graph_sha256`` and ``content_sha256``; returns the file's bytes.
    """
    if any(f.number == METADATA_FIELD for f in fields(body)):
        raise ValueError("seal() takes a model without metadata_props; strip them first")
    card = {**card, "graph_sha256": graph_sha256(body)}
    card.pop(DIGEST_FIELD, None)
    card[DIGEST_FIELD] = content_sha256(body, card)
    entry = _length_field(1, CARD_KEY.encode()) + _length_field(2, canonical_json(card).encode())
    return body + _length_field(METADATA_FIELD, entry)


def verify(data: bytes, where: str) -> dict:
    """Check a sealed model's layout and seal; return its card. One-line ModelError otherwise."""
    try:
        parts = fields(data)
    except ModelError as e:
        raise ModelError(f"{where}: {e}") from None
    seen: set[int] = set()
    for f in parts:
        spec = MODEL_FIELDS.get(f.number)
        if spec is None:
            raise ModelError(
                f"{where}: field {f.number} at byte {f.start} is not an ONNX model field; refusing to verify"
            )
        if f.wire != spec[0]:
            raise ModelError(f"{where}: field {f.number} at byte {f.start} has the wrong wire type; refusing to verify")
        if f.number in seen and not spec[1]:
            raise ModelError(f"{where}: field {f.number} appears twice (appended content); refusing to verify")
        seen.add(f.number)
    if GRAPH_FIELD not in seen:
        raise ModelError(f"{where}: not an ONNX model (no graph)")
    cards = [f for f in parts if f.number == METADATA_FIELD]
    if len(cards) != 1 or cards[0] is not parts[-1]:
        raise ModelError(
            f"{where}: expected exactly one metadata entry, the model card, as the last field "
            f"(found {len(cards)}); re-export the model or run without --verify"
        )
    last = parts[-1]
    card, text = _parse_card_entry(data[last.value_start : last.end], where)
    expected = card.get(DIGEST_FIELD)
    if not isinstance(expected, str):
        raise ModelError(
            f"{where}: the model card has no {DIGEST_FIELD} (card version {card.get('card_version')!r}); "
            "re-export the model with this mnist-edge to verify it"
        )
    if canonical_json(card).encode() != text:
        raise ModelError(f"{where}: the model card is not in canonical form (edited by hand?)")
    body = data[: last.start]
    actual = content_sha256(body, card)
    if actual != expected:
        raise ModelError(f"{where}: model does not match its card (content SHA-256 {actual[:12]}… ≠ {expected[:12]}…)")
    return card


def _parse_card_entry(entry: bytes, where: str) -> tuple[dict, bytes]:
    try:
        parts = fields(entry)
    except ModelError:
        raise ModelError(f"{where}: corrupt metadata entry") from None
    numbers = [f.number for f in parts]
    if numbers != [1, 2] or any(f.wire != _LENGTH for f in parts):
        raise ModelError(f"{where}: the metadata entry is not a plain key/value pair")
    key = entry[parts[0].value_start : parts[0].end]
    text = entry[parts[1].value_start : parts[1].end]
    if key != CARD_KEY.encode():
        raise ModelError(f"{where}: the last metadata entry is {key[:40]!r}, not the model card")
    try:
        card = json.loads(text.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError) as e:
        raise ModelError(f"{where}: the model card is not valid JSON ({e})") from None
    if not isinstance(card, dict):
        raise ModelError(f"{where}: the model card is not a JSON object")
    return card, text


def _no_constants(name: str):
    raise ValueError(f"{name} is not JSON")


def _length_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | _LENGTH) + _varint(len(payload)) + payload


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ModelError("truncated or corrupt ONNX file")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
