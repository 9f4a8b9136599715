"""What a prediction looks like outside Python: one JSON record or one text line per image."""

from __future__ import annotations

import json

from .predictor import Prediction


def prediction_record(path: str, outcome: Prediction | Exception, top_k: int = 1) -> dict:
    """``{"path", "label", "confidence", "probabilities", "box", "digits", "reason"[, "top_k"]}`` or ``{"path", "error"}``.

    ``box`` is where the digit was found: ``[x0, y0, x1, y1]`` in the picture's pixels (x1, y1 exclusive).
    "Not a digit" is an answer, not an error: ``label`` and ``confidence`` null, ``digits`` "", ``reason`` set.
    """
    if isinstance(outcome, Exception):
        return {"path": path, "error": getattr(outcome, "reason", str(outcome))}  # the path is named already
    record = {
        "path": path,
        "label": outcome.label,
        "confidence": outcome.confidence,
        "probabilities": list(outcome.probabilities) if outcome.probabilities is not None else None,
        "box": list(outcome.box) if outcome.box is not None else None,
        "digits": outcome.digits,
        "reason": outcome.reason,
    }
    if top_k > 1 and outcome.probabilities is not None:
        record["top_k"] = [{"label": d, "probability": p} for d, p in outcome.top_k(top_k)]
    return record


def format_line(path: str, outcome: Prediction | Exception, top_k: int = 1, as_json: bool = False) -> str:
    """``path: 7 (0.897)`` (plus ``  7:0.897 1:0.020`` for top_k > 1), ``path: error: reason``, or JSON."""
    if as_json:
        return json.dumps(prediction_record(path, outcome, top_k), allow_nan=False)  # never bare NaN
    if isinstance(outcome, Exception):
        return f"{path}: error: {getattr(outcome, 'reason', str(outcome))}"
    if outcome.label is None:
        return f"{path}: {outcome.reason}"
    line = f"{path}: {outcome.label} ({outcome.confidence:.3f})"
    if top_k > 1:
        line += "  " + " ".join(f"{d}:{p:.3f}" for d, p in outcome.top_k(top_k))
    return line
