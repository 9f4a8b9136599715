"""Predict every picture under a folder or object-store prefix with Ray Data; write Parquet.

    pip install '.[ray]'
    python examples/ray_predict.py FOLDER_OR_URI --out results.parquet
    python examples/ray_predict.py s3://bucket/prefix --out s3://bucket/results/ --address auto

Without --address a single-node Ray starts here (--num-cpus limits it); with ``--address auto`` (or
under ``ray job submit``) it joins the running cluster. Output columns: path, label (-1: unreadable),
confidence, probabilities (10 float32), box, error. --model FILE ships that ONNX file's bytes to the actors,
so it only has to exist where this script runs; without it each actor uses the model in its own install.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import ray

from mnist_edge.runtime.inputs import IMAGE_SUFFIXES
from mnist_edge.scale import ray_predict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="folder, file, or URI (s3://, gs://, ...) of pictures")
    parser.add_argument("--out", required=True, help="Parquet output: a folder (Ray writes one file per block)")
    parser.add_argument("--model", type=Path, default=None, help="ONNX model [default: the shipped int8 model]")
    parser.add_argument("--address", default=None, help="Ray cluster to join ('auto' inside a cluster)")
    parser.add_argument("--num-cpus", type=int, default=None, help="CPUs of a local Ray started here")
    parser.add_argument("--actors", type=int, default=None, help="Predictor actors [default: one per cluster CPU]")
    parser.add_argument("--actor-cpus", type=float, default=0.5, help="logical CPUs each actor reserves")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument(
        "--read-in-actors",
        action="store_true",
        help="list the files here and let the actors read them (faster for many tiny files than Ray's read tasks)",
    )
    args = parser.parse_args()

    started = time.perf_counter()
    ray.init(address=args.address, num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False)
    if args.read_in_actors:
        dataset = ray.data.from_items([{"path": p} for p in list_pictures(args.source)])
    else:
        suffixes = sorted(s.lstrip(".") for s in IMAGE_SUFFIXES)
        dataset = ray.data.read_binary_files(args.source, include_paths=True, file_extensions=suffixes)
    model = args.model.read_bytes() if args.model else None
    predictions = ray_predict(
        dataset, model=model, batch_size=args.batch_size, concurrency=args.actors, num_cpus=args.actor_cpus
    )
    predictions.write_parquet(args.out)
    rows = ray.data.read_parquet(args.out).count()
    print(f"wrote {rows} predictions to {args.out} in {time.perf_counter() - started:.1f} s")
    ray.shutdown()


def list_pictures(source: str) -> list[str]:
    """Picture files under a local folder or URI, sorted (pyarrow's filesystem layer, as Ray uses)."""
    from pyarrow import fs

    filesystem, root = fs.FileSystem.from_uri(source if "://" in source else str(Path(source).resolve()))
    infos = filesystem.get_file_info(fs.FileSelector(root, recursive=True))
    scheme = source.split("://", 1)[0] + "://" if "://" in source else ""
    return sorted(
        scheme + i.path for i in infos if i.type == fs.FileType.File and Path(i.path).suffix.lower() in IMAGE_SUFFIXES
    )


if __name__ == "__main__":
    main()
