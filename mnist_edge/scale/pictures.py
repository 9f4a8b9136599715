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
from ..runtime.predictor import Predictor
from ..runtime.preprocess import read_digit

COLUMNS = ("path", "label", "confidence", "probabilities", "box", "error")


@dataclass(frozen=True)
class Batch:
    """Predictions for n pictures, in input order. Where ``error`` is set, nothing else means anything."""

    label: np.ndarray  # int64 [n]: the digit, -1 where the picture could not be used
    confidence: np.ndarray  # float32 [n]: probability of the label, NaN where label is -1
    probabilities: np.ndarray  # float32 [n, 10], bit for bit what Predictor.probabilities gives; NaN rows on error
    box: np.ndarray  # int64 [n, 4]: x0, y0, x1, y1 of the digit in the picture (Prediction.box); 0 on error
    error: list[str | None]  # why the picture could not be used; None where predicted


def predict_pictures(predictor: Predictor, pictures: Sequence[bytes | bytearray | memoryview | str | None]) -> Batch:
    """Predict every picture (its bytes, or a path or URI read here) with one batched inference call.

    The batched onnxruntime call is row-independent, so each row is bit for bit what one process
    gives. One odd picture never stops the batch: its row gets an error instead.
    """
    n = len(pictures)
    tensors, ok, errors = [], [], [None] * n
    box = np.zeros((n, 4), np.int64)
    for i, picture in enumerate(pictures):
        try:
            if picture is None:
                raise ImageError("no picture (null)")
            if isinstance(picture, (bytearray, memoryview)):  # what some Arrow conversions hand over
                picture = bytes(picture)
            reading = read_digit(picture if isinstance(picture, bytes) else read_source(str(picture)))
            tensors.append(reading.tensor)
            box[i] = reading.box
            ok.append(i)
        except ImageError as e:
            errors[i] = e.reason
        except Exception as e:  # unreadable URI, odd bytes: reported in the row
            errors[i] = f"unexpected {type(e).__name__}: {first_line(e)}"
    probabilities = np.full((n, 10), np.nan, np.float32)
    label = np.full(n, -1, np.int64)
    if tensors:
        probabilities[ok] = predictor.probabilities(np.stack(tensors))
        label[ok] = probabilities[ok].argmax(axis=1)
    confidence = np.where(label >= 0, probabilities[np.arange(n), np.maximum(label, 0)], np.float32(np.nan))
    return Batch(label, confidence.astype(np.float32), probabilities, box, errors)


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
