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
from typing import TYPE_CHECKING, Any

from .pictures import load_predictor, predict_pictures

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    import ray.data

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
        self.predictor = load_predictor(model, threads)

    def __call__(self, batch: pa.Table) -> pa.Table:
        import pyarrow as pa

        paths = [str(p) for p in batch.column("path").to_pylist()]
        blobs = batch.column("bytes").to_pylist() if "bytes" in batch.column_names else [None] * len(paths)
        result = predict_pictures(
            self.predictor, [blob if blob is not None else path for path, blob in zip(paths, blobs, strict=True)]
        )
        columns: dict[str, Any] = {
            "path": pa.array(paths, pa.string()),
            "label": pa.array(result.label),
            "confidence": pa.array(result.confidence),
            "probabilities": pa.FixedSizeListArray.from_arrays(pa.array(result.probabilities.reshape(-1)), 10),
            "box": pa.array(
                [b if found else None for b, found in zip(result.box.tolist(), result.has_box, strict=True)],
                pa.list_(pa.int64()),
            ),
            "digits": pa.array(result.digits, pa.string()),
            "reason": pa.array(result.reason, pa.string()),
            "error": pa.array(result.error, pa.string()),
        }
        return pa.table(columns)
