"""The edge runtime: image → MNIST-style tensor → probabilities, with numpy, onnxruntime and Pillow only.

Never import TensorFlow, Keras, tf2onnx or onnx from here (a test enforces it).

    from mnist_edge.runtime import Predictor
    result = Predictor().predict("digit.png")   # the pretrained int8 model shipped in the package
    print(result.label, result.confidence)
"""

from ..errors import ImageError, ModelError
from .card import PREPROCESSING_SPEC
from .predictor import Prediction, Predictor, default_model_path, shipped_model_path
from .preprocess import load_image, preprocess

__all__ = [
    "ImageError",
    "ModelError",
    "PREPROCESSING_SPEC",
    "Prediction",
    "Predictor",
    "default_model_path",
    "load_image",
    "preprocess",
    "shipped_model_path",
]
