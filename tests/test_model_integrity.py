"""--verify covers every byte onnxruntime reads; tampered or malformed cards give one-line errors.

Issue 14, items 1 and 2. Standard library + the runtime only (no onnx): tampered files are built
on the wire format directly, as an attacker would.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_edge.contract import CARD_KEY
from mnist_edge.errors import ModelError
from mnist_edge.runtime import Predictor
from mnist_edge.runtime.integrity import canonical_json, fields, seal, strip_metadata, verify
from mnist_edge.runtime.predictor import shipped_model_path

pytestmark = pytest.mark.runtime

DIGIT = Path(__file__).parent.parent / "examples" / "digits" / "mnist_test_00000_label_7.png"


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _card_entry(card: dict) -> bytes:
    return _field(14, _field(1, CARD_KEY.encode()) + _field(2, canonical_json(card).encode()))


@pytest.fixture(scope="module")
def sealed() -> bytes:
    return shipped_model_path(quantized=False).read_bytes()


@pytest.fixture(scope="module")
def parts(sealed):
    """(body, card) of the shipped fp32 model."""
    card = verify(sealed, "shipped")
    last = fields(sealed)[-1]
    return sealed[: last.start], card


def _write(tmp_path: Path, data: bytes, name: str = "m.onnx") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _first_initializer(body: bytes) -> tuple[bytes, bytes, list[int]]:
    """(name, raw_data, dims) of the first initializer of the graph, read from the wire."""
    graph = next(f for f in fields(body) if f.number == 7)
    graph_bytes = body[graph.value_start : graph.end]
    init = next(f for f in fields(graph_bytes) if f.number == 5)
    tensor = graph_bytes[init.value_start : init.end]
    name = raw = b""
    dims: list[int] = []
    pos = 0
    for f in fields(tensor):
        if f.number == 8:
            name = tensor[f.value_start : f.end]
        elif f.number == 9:
            raw = tensor[f.value_start : f.end]
        elif f.number == 1 and f.wire == 2:  # packed dims
            payload, pos = tensor[f.value_start : f.end], 0
            while pos < len(payload):
                from mnist_edge.runtime.integrity import _read_varint

                d, pos = _read_varint(payload, pos)
                dims.append(d)
    return name, raw, dims


def _tensor(name: bytes, dims: list[int], raw: bytes) -> bytes:
    packed = b"".join(_varint(d) for d in dims)
    return _field(1, packed) + _varint(2 << 3) + _varint(1) + _field(8, name) + _field(9, raw)


def test_untampered_model_passes_verify(tmp_path, sealed):
    path = _write(tmp_path, sealed)
    p = Predictor(path, verify=True)
    assert p.card["content_sha256"] == verify(sealed, "x")["content_sha256"]
    assert p.predict(DIGIT).label == 7


def test_shipped_models_are_sealed_and_graphs_unchanged():
    shipped = sorted(shipped_model_path().parent.glob("*.onnx"))
    assert len(shipped) >= 2
    for path in shipped:
        data = path.read_bytes()
        card = verify(data, "shipped")
        assert card["card_version"] == 2
        # re-sealing the stripped body with the same card reproduces the file byte for byte
        assert seal(strip_metadata(data), card) == data


def _tampered(sealed: bytes, body: bytes, card: dict) -> dict[str, bytes]:
    name, raw, dims = _first_initializer(body)
    zeros_graph = _field(5, _tensor(name, dims, bytes(len(raw))))  # GraphProto.initializer = 5
    graph = next(f for f in fields(body) if f.number == 7)
    flipped = bytearray(sealed)
    flipped[graph.end - 100] ^= 0x01  # inside the last weight tensor
    edited = {**card, "test_accuracy": 1.0}
    return {
        "appended graph": body + _field(7, body[graph.value_start : graph.end]) + _card_entry(card),
        "appended graph after the card": sealed + _field(7, zeros_graph),
        "appended initializer": body + _field(7, zeros_graph) + _card_entry(card),
        "changed weight": bytes(flipped),
        "changed card field": body + _card_entry(edited),
        "changed seal": body + _card_entry({**card, "content_sha256": "0" * 64}),
        "truncated": sealed[: len(sealed) // 2],
        "truncated by one byte": sealed[:-1],
        "card removed": body,
        "duplicate ir_version": body + bytes([1 << 3]) + _varint(10) + _card_entry(card),
        "unknown field": body + _field(99, b"hello") + _card_entry(card),
        "second metadata entry": body + _field(14, _field(1, b"other") + _field(2, b"x")) + _card_entry(card),
        "card not last": _card_entry(card) + body,
        "card not canonical": body + _field(14, _field(1, CARD_KEY.encode()) + _field(2, json.dumps(card).encode())),
        "empty file": b"",
        "garbage": b"\xff" * 64,
    }


def test_every_tampering_is_refused(tmp_path, sealed, parts):
    body, card = parts
    for label, data in _tampered(sealed, body, card).items():
        path = _write(tmp_path, data, label.replace(" ", "_") + ".onnx")
        with pytest.raises(ModelError) as info:
            Predictor(path, verify=True)
        message = str(info.value)
        assert "\n" not in message and str(path) in message, (label, message)


def test_appended_graph_changes_what_runs_but_not_verify(tmp_path, sealed, parts):
    """The bypass of issue 14: without --verify the appended weights are what onnxruntime runs."""
    body, card = parts
    data = _tampered(sealed, body, card)["appended initializer"]
    path = _write(tmp_path, data)
    honest = Predictor(_write(tmp_path, sealed, "honest.onnx")).predict(DIGIT)
    try:
        hacked = Predictor(path).predict(DIGIT)
    except ModelError:
        hacked = None  # a runtime that refuses it outright is fine too
    if hacked is not None:
        assert hacked.probabilities != honest.probabilities  # the attack works on the bytes ...
    with pytest.raises(ModelError, match="appears twice"):  # ... and --verify catches it
        Predictor(path, verify=True)


def test_cli_verify_refuses_with_one_line(tmp_path, sealed, parts):
    body, card = parts
    path = _write(tmp_path, _tampered(sealed, body, card)["appended initializer"])
    r = subprocess.run(
        [sys.executable, "-m", "mnist_edge", "predict", "--verify", "--model", str(path), str(DIGIT)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "appears twice" in r.stderr


# --- item 2: the card against its schema ----------------------------------------------------------


CARD_TAMPERING = {
    "preprocessing as a string": ("preprocessing", "mnist-edge-preprocess/1"),
    "preprocessing null": ("preprocessing", None),
    "preprocessing without spec": ("preprocessing", {}),
    "preprocessing spec an int": ("preprocessing", {"spec": 1}),
    "graph_sha256 an int": ("graph_sha256", 5),
    "graph_sha256 short": ("graph_sha256", "abc"),
    "content_sha256 an int": ("content_sha256", 7),
    "card_version unknown": ("card_version", 99),
    "card_version a string": ("card_version", "2"),
    "card_version a bool": ("card_version", True),
    "labels a string": ("labels", "0123456789"),
    "labels too few": ("labels", ["0", "1"]),
    "input a list": ("input", [784]),
}


@pytest.mark.parametrize("label", list(CARD_TAMPERING))
@pytest.mark.parametrize("verify_flag", [False, True])
def test_tampered_card_gives_one_line_naming_the_field(tmp_path, parts, label, verify_flag):
    body, card = parts
    key, value = CARD_TAMPERING[label]
    bad = {**card, key: value}
    data = (
        seal(body, bad)
        if not verify_flag and key not in ("graph_sha256", "content_sha256")
        else body + _card_entry(bad)
    )
    path = _write(tmp_path, data)
    with pytest.raises(ModelError) as info:
        Predictor(path, verify=verify_flag)
    message = str(info.value)
    assert "\n" not in message
    if not verify_flag:
        assert key in message, message


@pytest.mark.parametrize("key", ["card_version", "input", "output", "labels", "preprocessing"])
def test_missing_card_key_is_named(tmp_path, parts, key):
    body, card = parts
    bad = {k: v for k, v in card.items() if k != key}
    with pytest.raises(ModelError, match=key):
        Predictor(_write(tmp_path, seal(body, bad)))


def test_card_that_is_not_an_object(tmp_path, parts):
    body, _ = parts
    data = body + _field(14, _field(1, CARD_KEY.encode()) + _field(2, b"[1, 2, 3]"))
    for verify_flag in (False, True):
        with pytest.raises(ModelError):
            Predictor(_write(tmp_path, data), verify=verify_flag)
