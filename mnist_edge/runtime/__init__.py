"""Stage 3, the edge runtime: image → MNIST-style tensor → probabilities, with numpy, onnxruntime, Pillow and OpenCV (headless) only.

Sealed: nothing here imports TensorFlow, Keras, tf2onnx, onnx, or the training/export/cli modules;
only ``mnist_edge.contract``, ``mnist_edge.errors``, ``mnist_edge.limits`` and the version
(import-linter enforces it).

Importing it sets ``ORT_DISABLE_TELEMETRY=1`` unless already set: onnxruntime otherwise writes a
device ID under ``~/.cache`` when it is imported, and warns on stderr when the home directory is
read-only.

    from mnist_edge.runtime import Predictor
    result = Predictor().predict("digit.png")   # the pretrained int8 model shipped in the package
    print(result.digits, result.confidence)     # "7", or "2026" for a number (result.readings: per digit)
"""

import os

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")  # before onnxruntime is first imported, below

from ..contract import PREPROCESSING_SPEC  # noqa: E402
from ..errors import ImageError, ModelError  # noqa: E402
from .batch import predict_files  # noqa: E402
from .explain import explanation, write_explanation  # noqa: E402
from .inputs import expand_inputs  # noqa: E402
from .parallel import predict_inputs  # noqa: E402
from .predictor import DigitReading, Prediction, Predictor, default_model_path, shipped_model_path  # noqa: E402
from .preprocess import Digits, Reading, preprocess, read_digit, read_digits  # noqa: E402
from .records import format_line, prediction_record  # noqa: E402

__all__ = [
    "PREPROCESSING_SPEC",
    "DigitReading",
    "Digits",
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
    "read_digits",
    "prediction_record",
    "preprocess",
    "shipped_model_path",
    "write_explanation",
]
