"""Regenerate tests/data/mnist-sample: the first 300 training and 100 test MNIST images, as gzip IDX.

    python tests/data/make_sample.py ../shared/data/mnist

A small real sample lets the data-loader and preprocessing tests run without the full dataset.
"""

import gzip
import sys
from pathlib import Path

import numpy as np

from mnist_edge.training.data import load_idx_dir

COUNTS = {"train": 300, "t10k": 100}


def write_idx(path: Path, array: np.ndarray) -> None:
    magic = (0x0800 + array.ndim).to_bytes(4, "big")
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    # mtime=0 keeps the files byte-identical from run to run
    path.write_bytes(gzip.compress(magic + dims + array.astype(np.uint8).tobytes(), mtime=0))


def main(source: str) -> None:
    mnist = load_idx_dir(Path(source))
    out = Path(__file__).parent / "mnist-sample"
    out.mkdir(exist_ok=True)
    for split, x, y in (("train", mnist.x_train, mnist.y_train), ("t10k", mnist.x_test, mnist.y_test)):
        n = COUNTS[split]
        write_idx(out / f"{split}-images-idx3-ubyte.gz", x[:n])
        write_idx(out / f"{split}-labels-idx1-ubyte.gz", y[:n])


if __name__ == "__main__":
    main(sys.argv[1])
