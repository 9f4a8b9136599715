"""Stage 3, the edge runtime: image → MNIST-style tensor → probabilities, with numpy, onnxruntime, Pillow and OpenCV (headless) only.

Sealed: nothing here imports TensorFlow, Keras, tf2onnx, onnx, or the training/export/cli modules;
only ``mnist_edge.contract``, ``mnist_edge.errors`` and the version (import-linter enforces it).

    from mnist_edge.runtime import Predictor
    result = Predictor().predict("digit.png")   # the pretrained int8 model shipped in the package
    print(result.label, result.confidence)
"""

from ..contract import PREPROCESSING_SPEC
from ..errors import ImageError, ModelError
from .batch import predict_files, predict_inputs
from .explain import explanation, write_explanation
from .inputs import expand_inputs
from .predictor import Prediction, Predictor, default_model_path, shipped_model_path
from .preprocess import Reading, preprocess, read_digit
from .records import format_line, prediction_record

__all__ = [
    "PREPROCESSING_SPEC",
    "ImageError",
    "ModelError",
    "Prediction",
    "Predictor",
    "default_model_path",
    "expand_inputs",
    "explanation",
    "format_line",
    "predict_files",
    "predict_inputs",
    "Reading",
    "read_digit",
    "prediction_record",
    "preprocess",
    "shipped_model_path",
    "write_explanation",
]
