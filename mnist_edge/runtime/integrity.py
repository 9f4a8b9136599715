"""Fingerprint an ONNX model's graph (structure and weights) without the onnx package.

The model card lives in the model's metadata, so it cannot hash the whole file
it is part of. It records the SHA-256 of the serialized graph instead: field 7
of the ONNX ``ModelProto``, which holds every node and every weight. Reading
that field needs only the protobuf wire format (varint keys and lengths).
"""

from __future__ import annotations

import hashlib

from ..errors import ModelError

GRAPH_FIELD = 7  # ModelProto.graph
_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5


def graph_sha256(model: bytes) -> str:
    """SHA-256 hex digest of the graph field of a serialized ONNX model."""
    pos, end = 0, len(model)
    while pos < end:
        key, pos = _read_varint(model, pos)
        field, wire = key >> 3, key & 7
        if wire == _VARINT:
            _, pos = _read_varint(model, pos)
        elif wire == _FIXED64:
            pos += 8
        elif wire == _FIXED32:
            pos += 4
        elif wire == _LENGTH:
            size, pos = _read_varint(model, pos)
            if pos + size > end:
                raise ModelError("truncated ONNX file")
            if field == GRAPH_FIELD:
                return hashlib.sha256(model[pos : pos + size]).hexdigest()
            pos += size
        else:
            raise ModelError(f"not an ONNX model (wire type {wire} at byte {pos})")
    raise ModelError("not an ONNX model (no graph)")


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
