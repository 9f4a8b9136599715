"""Predict every picture under a folder or URI with Spark; write Parquet.

    pip install '.[spark]'   # and Java 17 or later
    python examples/spark_predict.py FOLDER_OR_URI --out results.parquet              # local[2], here
    spark-submit --master spark://HOST:7077 --num-executors 10 --executor-cores 16 \\
        examples/spark_predict.py s3a://bucket/prefix --out s3a://bucket/predictions/

Run with plain ``python`` it starts Spark in local mode (--master, default local[2]); under
``spark-submit`` it uses the session spark-submit configured. Spark lists the picture files
(``binaryFile``, recursive); by default Spark reads their bytes too, with --read-in-workers only the
paths go to the Python workers, which read the files themselves. Output columns: path, label
(-1: unreadable), confidence, probabilities (10 float32), box, error. --model FILE ships that ONNX
file's bytes with the tasks, so it only has to exist where this script runs; without it each executor
uses the model in its own install.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from mnist_edge.runtime.inputs import IMAGE_SUFFIXES
from mnist_edge.scale import spark_predict

PICTURE = r"\.(" + "|".join(sorted(s.lstrip(".") for s in IMAGE_SUFFIXES)) + r")$"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="folder, file, or URI (s3a://, gs://, hdfs://, ...) of pictures")
    parser.add_argument("--out", required=True, help="Parquet output: a folder (Spark writes one file per partition)")
    parser.add_argument("--model", type=Path, default=None, help="ONNX model [default: the shipped int8 model]")
    parser.add_argument("--master", default="local[2]", help="Spark master when not run by spark-submit")
    parser.add_argument("--batch-size", type=int, default=256, help="pictures per inference call")
    parser.add_argument(
        "--records-per-batch",
        type=int,
        default=1024,
        help="rows per Arrow batch sent to a Python worker (spark.sql.execution.arrow.maxRecordsPerBatch; "
        "Spark's default, 10000, holds 10000 pictures' bytes in memory at once)",
    )
    parser.add_argument(
        "--open-cost-bytes",
        type=int,
        default=16384,
        help="spark.sql.files.openCostInBytes: what one file counts for when Spark packs files into partitions; "
        "Spark's default (4 MB) makes a task of every 32 small files, and a task costs far more than a picture",
    )
    parser.add_argument(
        "--read-in-workers",
        action="store_true",
        help="send only the paths to the Python workers, which read the files (every executor must reach them)",
    )
    args = parser.parse_args()

    started = time.perf_counter()
    spark = session(args.master)
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(args.records_per_batch))
    spark.conf.set("spark.sql.files.openCostInBytes", str(args.open_cost_bytes))
    files = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(args.source)
    files = files.where(F.lower(F.col("path")).rlike(PICTURE))
    model = args.model.read_bytes() if args.model else None
    if args.read_in_workers:  # binaryFile skips reading the content when the column is not used
        predictions = spark_predict(files.select("path"), path_col="path", model=model, batch_size=args.batch_size)
    else:
        predictions = spark_predict(
            files.select("path", "content"), bytes_col="content", model=model, batch_size=args.batch_size
        ).drop("content")
    predictions.write.parquet(args.out)
    written = spark.read.parquet(args.out)
    rows, failed = written.count(), written.where(F.col("error").isNotNull()).count()
    nothing = written.where(F.col("digits") == "").count()
    print(
        f"wrote {rows} predictions ({failed} pictures unusable, {nothing} with no digit) to {args.out}"
        f" in {time.perf_counter() - started:.1f} s"
    )
    spark.stop()


def session(master: str) -> SparkSession:
    """The spark-submit session, or a small local one (its Python workers run this interpreter)."""
    builder = SparkSession.builder.appName("mnist-edge predict")
    if "PYSPARK_GATEWAY_PORT" not in os.environ:  # not launched by spark-submit: start Spark here
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = (
            builder.master(master)
            .config("spark.driver.memory", "1g")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4")
        )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


if __name__ == "__main__":
    main()
