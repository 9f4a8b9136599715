"""Ray Data: add prediction columns to a dataset of pictures, one Predictor per actor.

The input is what ``ray.data.read_binary_files(uri, include_paths=True)`` gives (columns ``bytes``
and ``path``), or a dataset with a ``path`` column only (file paths or URIs that every node can read;
each actor then reads the files itself, which skips Ray's per-file read tasks; much faster for
millions of tiny files). The output has one row per picture:

    path: string, label: int64 (-1 unless the picture holds exactly one digit), confidence: float32
    (a number's: its lowest digit confidence), probabilities: fixed_size_list<float32>[10] (NaN unless one
    digit), box: list<int64> (x0, y0, x1, y1 of the digit or number in the picture, as ``Prediction.box``;
    null when there is none), digits: string (the digits read, "" when none; null on error), reason:
    string (why no digit was read), error: string (null when predicted)

Labels, probabilities and boxes are bit for bit what the runtime gives in one process (the batched
onnxruntime call is row-independent).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ImageError, first_line
from ..runtime.predictor import Prediction, Predictor, predict_found
from ..runtime.preprocess import read_digits

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    import ray.data

COLUMNS = ("path", "label", "confidence", "probabilities", "box", "digits", "reason", "error")
BATCH_SIZE = 256


def ray_predict(
    dataset: ray.data.Dataset,
    model: str | os.PathLike | bytes | None = None,
    batch_size: int = BATCH_SIZE,
    concurrency: int | None = None,
    num_cpus: float = 0.5,
    threads: int = 1,
) -> ray.data.Dataset:
    """Return ``dataset`` mapped to prediction columns (lazy: nothing runs until it is consumed or written).

    ``model``: ``None`` for the pretrained model shipped in the package (found on each node in its
    own install), a path every node can read, or the model file's bytes (shipped with the actors,
    for a model that exists only on the driver). ``concurrency``: actors, each with one Predictor
    (default: one per CPU of the cluster). ``num_cpus``: logical CPUs each actor reserves. The
    default 0.5 leaves half of each node's CPUs to Ray's read tasks, so an actor pool can never
    starve them; every actor still keeps a whole core busy. ``threads``: onnxruntime threads per
    session (1: preprocessing dominates, the cores go to actors).
    """
    import ray
    from ray.data import ActorPoolStrategy

    if concurrency is None:
        concurrency = max(1, int(ray.cluster_resources().get("CPU", 1)))
    if isinstance(model, (str, os.PathLike)):
        model = str(model)
    return dataset.map_batches(
        PredictorActor,
        fn_constructor_kwargs={"model": model, "threads": threads},
        compute=ActorPoolStrategy(size=concurrency),
        num_cpus=num_cpus,
        batch_size=batch_size,
        batch_format="pyarrow",
        zero_copy_batch=True,
    )


class PredictorActor:
    """A callable class for ``map_batches``: builds its Predictor once, in the actor (a session cannot be pickled)."""

    def __init__(self, model: str | bytes | None = None, threads: int = 1):
        self._tmp = None
        if isinstance(model, bytes):
            fd, name = tempfile.mkstemp(suffix=".onnx", prefix="mnist-edge-")
            with os.fdopen(fd, "wb") as f:
                f.write(model)
            self._tmp = model = name
        self.predictor = Predictor(model, threads=threads)

    def __del__(self):
        if self._tmp:
            Path(self._tmp).unlink(missing_ok=True)

    def __call__(self, batch: pa.Table) -> pa.Table:
        import pyarrow as pa

        paths = [str(p) for p in batch.column("path").to_pylist()]
        blobs = batch.column("bytes").to_pylist() if "bytes" in batch.column_names else [None] * len(paths)
        n = len(paths)
        found, ok, errors = [], [], [None] * n
        for i, (path, blob) in enumerate(zip(paths, blobs, strict=True)):
            try:
                found.append(read_digits(blob if blob is not None else _read(path)))
                ok.append(i)
            except ImageError as e:
                errors[i] = e.reason
            except Exception as e:  # one odd picture never stops the job
                errors[i] = f"unexpected {type(e).__name__}: {first_line(e)}"
        predictions: list[Prediction | None] = [None] * n
        for i, prediction in zip(ok, predict_found(self.predictor, found), strict=True):
            predictions[i] = prediction
        probs = np.full((n, 10), np.nan, np.float32)
        labels = np.full(n, -1, np.int64)
        confidence = np.full(n, np.nan, np.float32)
        for i, p in enumerate(predictions):
            if p is not None and p.label is not None:
                labels[i], probs[i] = p.label, p.probabilities
            if p is not None and p.confidence is not None:
                confidence[i] = p.confidence
        columns: dict[str, Any] = {
            "path": pa.array(paths, pa.string()),
            "label": pa.array(labels),
            "confidence": pa.array(confidence),
            "probabilities": pa.FixedSizeListArray.from_arrays(pa.array(probs.reshape(-1)), 10),
            "box": pa.array(
                [list(p.box) if p is not None and p.box else None for p in predictions], pa.list_(pa.int64())
            ),
            "digits": pa.array([p.digits if p is not None else None for p in predictions], pa.string()),
            "reason": pa.array([p.reason if p is not None else None for p in predictions], pa.string()),
            "error": pa.array(errors, pa.string()),
        }
        return pa.table(columns)


def _read(path: str) -> bytes:
    """A local path or any URI pyarrow can open (s3://, gs://, hdfs://, abfs://)."""
    if "://" not in path:
        with open(path, "rb") as f:
            return f.read()
    from pyarrow import fs

    filesystem, inner = fs.FileSystem.from_uri(path)
    with filesystem.open_input_stream(inner) as f:
        return f.read()
