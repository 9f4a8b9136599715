"""Predict many image files: per-file errors are reported, the rest still predicted, inference batched."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..errors import ImageError, first_line
from .predictor import Prediction, Predictor, predict_found
from .preprocess import Digits, read_digits

CHUNK = 256


def predict_files(
    predictor: Predictor, paths: Sequence[str], chunk: int = CHUNK
) -> Iterator[tuple[str, Prediction | Exception]]:
    """Yield ``(path, Prediction)`` or ``(path, error)`` for every path, in order (one model call per chunk).

    A picture without a digit is a Prediction (``digits == ""``, a ``reason``); errors are pictures
    that could not be read."""
    for start in range(0, len(paths), chunk):
        part = paths[start : start + chunk]
        found: dict[int, Digits] = {}
        errors: dict[int, Exception] = {}
        for i, path in enumerate(part):
            try:
                found[i] = read_digits(path)
            except ImageError as e:
                errors[i] = e
            except Exception as e:  # never let one odd file stop the run
                errors[i] = ImageError(f"unexpected {type(e).__name__}: {first_line(e)}")
        predictions = iter(predict_found(predictor, list(found.values())))
        for i, path in enumerate(part):
            yield path, errors[i] if i in errors else next(predictions)
