"""Predict many image files: per-file errors are reported, the rest still predicted, inference batched."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

from ..contract import DEFAULT_DIR
from ..errors import ImageError, first_line
from .inputs import expand_inputs
from .predictor import Prediction, Predictor, default_model_path, predict_found
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


def predict_inputs(
    inputs: Sequence[str],
    model: str | os.PathLike | None = None,
    threads: int | None = None,
    verify: bool = False,
    default_dir: str | os.PathLike = DEFAULT_DIR,
    workers: int | None = 1,
) -> tuple[list[str], Iterator[tuple[str, Prediction | Exception]]]:
    """What ``mnist-edge predict`` does: load the model, expand files/folders/globs, predict lazily.

    ``model``: an ONNX file; default ``default_model_path(default_dir)``. Returns the expanded paths
    and an iterator of ``(path, Prediction or error)`` in the same order. ``workers``: processes
    (``None``: the cores available, see ``parallel.predict_parallel``); the records are the same.
    """
    model = model or default_model_path(default_dir)
    predictor = Predictor(model, threads=threads, verify=verify)  # also checks the model before any worker starts
    paths = expand_inputs(inputs)
    if workers == 1:
        return paths, predict_files(predictor, paths)
    from .parallel import predict_parallel

    return paths, predict_parallel(paths, model, workers=workers, threads=threads, predictor=predictor)
