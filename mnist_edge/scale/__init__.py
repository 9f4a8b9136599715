"""Prediction at cluster scale. Sits above the runtime: it imports ``mnist_edge.runtime``, never the reverse.

    pip install 'mnist-edge[ray]'
    from mnist_edge.scale import ray_predict
    ds = ray_predict(ray.data.read_binary_files("s3://bucket/prefix", include_paths=True))
    ds.write_parquet("s3://bucket/results")

    pip install 'mnist-edge[spark]'
    from mnist_edge.scale import spark_predict
    df = spark_predict(spark.read.format("binaryFile").load("s3a://bucket/prefix"), bytes_col="content")
    df.drop("content").write.parquet("s3a://bucket/results")

Ray and pyspark are imported lazily, so ``import mnist_edge.scale`` works without them. Both add the
same columns (``pictures.COLUMNS``), computed by ``pictures.predict_pictures``.
"""

from .pictures import COLUMNS, predict_pictures
from .ray_data import PredictorActor, ray_predict
from .spark import spark_predict

__all__ = ["COLUMNS", "PredictorActor", "predict_pictures", "ray_predict", "spark_predict"]
