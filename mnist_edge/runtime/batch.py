"""Predict many image files: per-file errors are reported, the rest still predicted, inference batched."""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from ..errors import ImageError, first_line
from .predictor import Prediction, Predictor, to_prediction
from .preprocess import preprocess

CHUNK = 256


def predict_files(predictor: Predictor, paths: Sequence[str], chunk: int = CHUNK) -> Iterator[tuple[str, Prediction | Exception]]:
    """Yield ``(path, Prediction)`` or ``(path, error)`` for every path, in order."""
    for start in range(0, len(paths), chunk):
        part = paths[start : start + chunk]
        tensors: dict[int, np.ndarray] = {}
        errors: dict[int, Exception] = {}
        for i, path in enumerate(part):
            try:
                tensors[i] = preprocess(path)
            except ImageError as e:
                errors[i] = e
            except Exception as e:  # never let one odd file stop the run
                errors[i] = ImageError(f"unexpected {type(e).__name__}: {first_line(e)}")
        probs = iter(predictor.probabilities(np.stack(list(tensors.values())))) if tensors else iter(())
        for i, path in enumerate(part):
            yield path, errors[i] if i in errors else to_prediction(next(probs))
