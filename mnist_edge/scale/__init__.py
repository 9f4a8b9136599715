"""Prediction at cluster scale. Sits above the runtime: it imports ``mnist_edge.runtime``, never the reverse.

    pip install 'mnist-edge[ray]'
    from mnist_edge.scale import ray_predict
    ds = ray_predict(ray.data.read_binary_files("s3://bucket/prefix", include_paths=True))
    ds.write_parquet("s3://bucket/results")

Ray is imported lazily, so ``import mnist_edge.scale`` works without it.
"""

from .ray_data import COLUMNS, PredictorActor, ray_predict

__all__ = ["COLUMNS", "PredictorActor", "ray_predict"]
