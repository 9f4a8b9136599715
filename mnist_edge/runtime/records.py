"""What a prediction looks like outside Python: one JSON record or one text line per image."""

from __future__ import annotations

import json

from .predictor import Prediction


def prediction_record(path: str, outcome: Prediction | Exception, top_k: int = 1) -> dict:
    """``{"path", "label", "confidence", "probabilities", "box", "digits", "reason", "readings"[, "top_k"]}``
    or ``{"path", "error"}`` for a picture that could not be read.

    ``digits`` is the string read: "7", "2026", or "" when the picture holds no digit (``reason`` says
    why; null otherwise). ``readings`` has one ``{"label", "confidence", "probabilities", "box"}`` per
    digit, left to right. For one digit, ``label``/``confidence``/``probabilities``/``box`` are its own;
    for a number, ``label`` and ``probabilities`` are null, ``confidence`` is its digits' lowest and
    ``box`` their union. A box is ``[x0, y0, x1, y1]`` in the picture's pixels (x1, y1 exclusive).
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
        "readings": [
            {
                "label": r.label,
                "confidence": r.confidence,
                "probabilities": list(r.probabilities),
                "box": list(r.box) if r.box is not None else None,
            }
            for r in outcome.readings
        ],
    }
    if top_k > 1:
        record["top_k"] = [{"label": d, "probability": p} for d, p in outcome.top_k(top_k)]
    return record


def format_line(path: str, outcome: Prediction | Exception, top_k: int = 1, as_json: bool = False) -> str:
    """``path: 7 (0.897)`` (plus ``  7:0.897 1:0.020`` for top_k > 1), ``path: 2026 (0.981)`` (the lowest
    digit confidence), ``path: no digit found``, ``path: error: reason``, or JSON."""
    if as_json:
        return json.dumps(prediction_record(path, outcome, top_k), allow_nan=False)  # never bare NaN
    if isinstance(outcome, Exception):
        return f"{path}: error: {getattr(outcome, 'reason', str(outcome))}"
    if not outcome.digits:
        return f"{path}: {outcome.reason or 'no digit found'}"
    line = f"{path}: {outcome.digits} ({outcome.confidence:.3f})"
    if top_k > 1 and outcome.label is not None:
        line += "  " + " ".join(f"{d}:{p:.3f}" for d, p in outcome.top_k(top_k))
    return line
