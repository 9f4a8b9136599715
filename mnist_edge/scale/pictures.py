"""One batch of pictures → the prediction columns every engine writes (Ray Data, Spark).

Each engine turns a ``Batch`` into its own table type; the columns and their meaning are defined once,
here, so the engines agree (a new column is added to ``Batch`` and to each engine's schema).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ImageError, first_line
from ..runtime.predictor import Predictor, predict_found
from ..runtime.preprocess import read_digits

COLUMNS = ("path", "label", "confidence", "probabilities", "box", "digits", "reason", "error")


@dataclass(frozen=True)
class Batch:
    """Predictions for n pictures, in input order. Where ``error`` is set, nothing else means anything.

    As ``Prediction`` (the runtime's record): one digit has its label and probabilities; a number
    (``digits`` "2026") and "not a digit" (``digits`` "", with a ``reason``) have label -1 and NaN
    probabilities; a number's confidence is its lowest digit's.
    """

    label: np.ndarray  # int64 [n]: the digit, -1 for a number, for no digit, or where the picture could not be used
    confidence: np.ndarray  # float32 [n]: Prediction.confidence, NaN where there is none
    probabilities: np.ndarray  # float32 [n, 10]: Prediction.probabilities of one digit (calibrated), else NaN
    box: np.ndarray  # int64 [n, 4]: x0, y0, x1, y1 of the digit(s) in the picture (Prediction.box); 0 when none
    has_box: np.ndarray  # bool [n]: whether ``box`` holds a box
    digits: list[str | None]  # the digits read ("7", "2026", ""); None on error
    reason: list[str | None]  # why nothing was read; None when something was, or on error
    error: list[str | None]  # why the picture could not be used; None where predicted


def predict_pictures(predictor: Predictor, pictures: Sequence[bytes | bytearray | memoryview | str | None]) -> Batch:
    """Predict every picture (its bytes, or a path or URI read here) with one batched inference call.

    ``Predictor.predict`` for each picture, as one process gives it: the same front end (numbers
    included) and the card's calibration and "not a digit" rule. The batched onnxruntime call is
    row-independent, so each row is bit for bit what one process gives. One odd picture never stops
    the batch: its row gets an error instead.
    """
    n = len(pictures)
    found, ok, errors = [], [], [None] * n
    for i, picture in enumerate(pictures):
        try:
            if picture is None:
                raise ImageError("no picture (null)")
            if isinstance(picture, (bytearray, memoryview)):  # what some Arrow conversions hand over
                picture = bytes(picture)
            found.append(read_digits(picture if isinstance(picture, bytes) else read_source(str(picture))))
            ok.append(i)
        except ImageError as e:
            errors[i] = e.reason
        except Exception as e:  # unreadable URI, odd bytes: reported in the row
            errors[i] = f"unexpected {type(e).__name__}: {first_line(e)}"
    label = np.full(n, -1, np.int64)
    confidence = np.full(n, np.nan, np.float32)
    probabilities = np.full((n, 10), np.nan, np.float32)
    box = np.zeros((n, 4), np.int64)
    has_box = np.zeros(n, bool)
    digits: list[str | None] = [None] * n
    reason: list[str | None] = [None] * n
    for i, p in zip(ok, predict_found(predictor, found), strict=True):
        digits[i], reason[i] = p.digits, p.reason
        if p.label is not None:
            label[i], probabilities[i] = p.label, p.probabilities
        if p.confidence is not None:
            confidence[i] = p.confidence
        if p.box is not None:
            box[i], has_box[i] = p.box, True
    return Batch(label, confidence, probabilities, box, has_box, digits, reason, errors)


def load_predictor(model: str | bytes | None, threads: int = 1) -> Predictor:
    """A Predictor from the packaged model (None), a path, or a model file's bytes (shipped from the driver).

    Bytes go through a private temporary file, removed as soon as the Predictor has read it.
    """
    if not isinstance(model, bytes):
        return Predictor(model, threads=threads)
    fd, name = tempfile.mkstemp(suffix=".onnx", prefix="mnist-edge-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(model)
        return Predictor(name, threads=threads)
    finally:
        os.unlink(name)


def read_source(path: str) -> bytes:
    """A local path, a ``file:`` URI (as Spark writes paths), or any URI pyarrow can open (s3://, gs://, hdfs://, abfs://).

    Hadoop's ``s3a://`` and ``s3n://`` are read as ``s3://``. Spark's paths are not percent-encoded, so
    a ``file:`` URI is not decoded either.
    """
    if path.startswith("file:"):  # file:/p, file:///p, file://host/p; '#' and '?' are part of the name
        path = path.removeprefix("file:")
        if path.startswith("//"):
            path = path[path.index("/", 2) :]
    if "://" not in path:
        with open(path, "rb") as f:
            return f.read()
    from pyarrow import fs

    scheme, rest = path.split("://", 1)
    if scheme in ("s3a", "s3n"):
        path = f"s3://{rest}"
    filesystem, inner = fs.FileSystem.from_uri(path)
    with filesystem.open_input_stream(inner) as f:
        return f.read()
