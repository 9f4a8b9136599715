"""Spark: add prediction columns to a DataFrame of pictures with ``predict_batch_udf``, one Predictor per Python worker.

The input has a column of file paths or URIs that every executor can read (each Python worker reads
them itself), or of the files' bytes: ``spark.read.format("binaryFile")`` gives ``path`` and
``content``. The output is the input with these columns added, named and meant as ``ray_predict``'s:

    label: bigint (-1 when the picture could not be used), confidence: float, probabilities:
    array<float> (10), box: array<bigint> (x0, y0, x1, y1 of the digit in the picture, as
    ``Prediction.box``; null when there is none), error: string (null when predicted)

Labels, probabilities and boxes are bit for bit what the runtime gives in one process. pyspark is
imported only when ``spark_predict`` is called.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING

import numpy as np

from ..errors import UsageError
from .pictures import COLUMNS, load_predictor, predict_pictures

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame

BATCH_SIZE = 256
PREDICTION_COLUMNS = COLUMNS[1:]  # the columns spark_predict adds (the input keeps its own path column)
_STRUCT = "__mnist_edge_prediction"


def spark_predict(
    df: DataFrame,
    path_col: str = "path",
    bytes_col: str | None = None,
    model: str | os.PathLike | bytes | None = None,
    batch_size: int = BATCH_SIZE,
    threads: int = 1,
) -> DataFrame:
    """Return ``df`` with the prediction columns added (lazy: nothing runs until an action or a write).

    Pictures come from ``bytes_col`` when given (binary), else from ``path_col`` (paths or URIs:
    local, ``file:``, ``s3://``/``s3a://``, ``gs://``, ``hdfs://``, ... as pyarrow opens them).
    ``model``: ``None`` for the pretrained model shipped in the package (found on each executor in its
    own install), a path every executor can read, or the model file's bytes (shipped with the tasks,
    for a model that exists only on the driver). ``batch_size``: pictures per inference call; the
    Arrow batches Spark hands a worker (``spark.sql.execution.arrow.maxRecordsPerBatch``) are cut
    into batches of this size. ``threads``: onnxruntime threads per session (1: preprocessing
    dominates; the cores go to Spark's tasks).
    """
    from pyspark.ml.functions import predict_batch_udf
    from pyspark.sql import functions as F

    source = bytes_col or path_col
    if source not in df.columns:
        raise UsageError(
            f"no column {source!r} in the DataFrame (columns: {', '.join(df.columns)}); pass path_col= or bytes_col="
        )
    taken = [c for c in (*PREDICTION_COLUMNS, _STRUCT) if c in df.columns]
    if taken:
        raise UsageError(f"the DataFrame already has column(s) {', '.join(taken)}; rename or drop them first")
    if batch_size < 1:
        raise UsageError(f"batch_size must be at least 1, not {batch_size}")
    if isinstance(model, (str, os.PathLike)):
        model = str(model)
    predict = predict_batch_udf(
        functools.partial(make_predict_fn, model, threads),
        return_type=return_type(),
        batch_size=batch_size,
    )
    struct = F.col(_STRUCT)
    added = [struct[c].alias(c) for c in PREDICTION_COLUMNS if c != "box"]
    box = F.when(struct["has_box"] == 1, struct["box"]).alias("box")  # the UDF cannot return null arrays
    added.insert(PREDICTION_COLUMNS.index("box"), box)
    return df.withColumn(_STRUCT, predict(F.col(source))).select(*(df[c] for c in df.columns), *added)


def return_type():
    """The UDF's struct: one field per prediction column (nullable, as pandas UDF results always are)."""
    from pyspark.sql.types import ArrayType, FloatType, LongType, StringType, StructField, StructType

    return StructType(
        [
            StructField("label", LongType()),
            StructField("confidence", FloatType()),
            StructField("probabilities", ArrayType(FloatType(), False)),
            StructField("box", ArrayType(LongType(), False)),
            StructField("has_box", LongType()),  # 0/1: predict_batch_udf has no boolean fields
            StructField("digits", StringType()),
            StructField("reason", StringType()),
            StructField("error", StringType()),
        ]
    )


def make_predict_fn(model: str | bytes | None, threads: int):
    """Run once per Python worker (predict_batch_udf caches the result): build the Predictor there.

    An onnxruntime session cannot be pickled, so the task carries only ``model`` and builds the session
    on the executor; later batches on the same worker reuse it.
    """
    predictor = load_predictor(model, threads)

    def predict(pictures: np.ndarray) -> dict[str, np.ndarray]:
        result = predict_pictures(predictor, pictures.tolist())
        return {
            "label": result.label,
            "confidence": result.confidence,
            "probabilities": result.probabilities,
            "box": result.box,
            "has_box": result.has_box.astype(np.int64),
            "digits": np.array(result.digits, dtype=object),
            "reason": np.array(result.reason, dtype=object),
            "error": np.array(result.error, dtype=object),
        }

    return predict
