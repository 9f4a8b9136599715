"""Accuracy on photo-like digits (dark ink on light paper, 28-480 px, off-centre, RGB/RGBA/JPEG):
mnist-edge preprocessing against a plain resize to 28×28, for one or more ONNX models.

    python benchmarks/photo_digits.py [MODEL.onnx ...] [--count 1000]

Default models: the shipped int8 and fp32 ones. The pictures are made from MNIST test digits by
mnist_edge.photo_like with random size, offset, paper shade and encoding (seeded).
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mnist_edge.photo_like import photo_of_digit, plain_resize  # noqa: E402
from mnist_edge.runtime import Predictor, preprocess, shipped_model_path  # noqa: E402
from mnist_edge.training.data import load_mnist  # noqa: E402


def pictures(count: int, seed: int = 0):
    mnist = load_mnist(None)
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(mnist.x_test), count, replace=False)
    out = []
    for i in picks:
        size = int(rng.integers(28, 481))
        reach = max(1, size // 5)
        offset = (int(rng.integers(-reach, reach + 1)), int(rng.integers(-reach, reach + 1)))
        picture = photo_of_digit(mnist.x_test[i], size=size, offset=offset, paper=int(rng.integers(170, 256)))
        kind = rng.choice(["RGB", "RGBA", "JPEG"])
        if kind == "RGBA":
            picture = picture.convert("RGBA")
        elif kind == "JPEG":
            buffer = io.BytesIO()
            picture.save(buffer, format="JPEG", quality=int(rng.integers(60, 96)))
            picture = Image.open(io.BytesIO(buffer.getvalue()))
        out.append((picture, int(mnist.y_test[i])))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", type=Path)
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    models = args.models or [shipped_model_path(True), shipped_model_path(False)]
    data = pictures(args.count)
    labels = np.array([y for _, y in data])
    ours = np.stack([preprocess(p) for p, _ in data])
    naive = np.stack([plain_resize(p) for p, _ in data])
    for model in models:
        predictor = Predictor(model)
        a = np.mean(predictor.probabilities(ours).argmax(axis=1) == labels)
        b = np.mean(predictor.probabilities(naive).argmax(axis=1) == labels)
        print(f"{model}: mnist-edge preprocessing {a:.2%}, plain resize {b:.2%} ({len(data)} pictures)")


if __name__ == "__main__":
    main()
