"""A minimal app that embeds the mnist-edge runtime (numpy + onnxruntime + Pillow, no TensorFlow).

python examples/embed_minimal.py examples/digits/*.png
"""

import sys

from mnist_edge.runtime import Predictor, default_model_path

predictor = Predictor(default_model_path())  # artifacts/model.int8.onnx, artifacts/model.onnx, or the shipped model
for path in sys.argv[1:]:
    result = predictor.predict(path)
    print(f"{path}: {result.digits} ({result.confidence:.1%})" if result.digits else f"{path}: {result.reason}")
