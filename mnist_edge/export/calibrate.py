"""Fit calibrated confidence and the "not a digit" rule at export time (issue 13); read by ``runtime.trust``.

Everything is fitted on the validation split the training recipe carved out of the 60,000 training
images (same seed, same size: ``metrics.json`` records them), never on the test set:

- temperature scaling: the T that minimises the negative log-likelihood of the validation labels;
- the rejection threshold: the negative entropy of the calibrated probabilities below which
  ``REJECT_RATE`` of the validation digits fall, plus the shape limits of ``runtime.trust``: the
  largest stroke, loop and island counts that more than ``STRUCTURE_RATE`` of validation digits
  reach (islands: at least one, a dotted zero's).

Also the figures: expected calibration error (15 equal-width bins), AUROC, and a deterministic set
of synthetic non-digits (noise, overlaid digit pairs, scribbles) for the parity gate.
"""

from __future__ import annotations

import numpy as np

from ..runtime.trust import Trust, negative_entropy, structure, temperature_scale

ECE_BINS = 15
REJECT_RATE = (
    0.001  # of validation digits rejected by the entropy threshold (0.003 turned away 1.5 % of real digit pictures)
)
STRUCTURE_RATE = 0.001  # a stroke/loop/island count reached by more validation digits than this is allowed
ISLANDS_OF_A_DOTTED_ZERO = 1  # a dotted zero (monospace fonts, programmers' hands) has one stroke inside its loop
FALLBACK_VALIDATION = 5000  # images, when the training record names no validation split


def validation_split(mnist, training: dict | None) -> tuple[np.ndarray, np.ndarray, str]:
    """The validation images and labels the model was *not* trained on, and a line saying where they come from.

    Replays the recipe's split (``training.fit``): seeded subset of ``train_images``, then
    ``validation`` images held out with the recipe's seed. Without a record (or a recipe with no
    split), a seeded ``FALLBACK_VALIDATION`` training images that the model did see: said so.
    """
    from ..training.data import subsample, to_model_input
    from ..training.fit import _split_validation

    config = (training or {}).get("config") or {}
    seed, count = int(config.get("seed", 0)), int(config.get("validation", 0) or 0)
    x, y = subsample(mnist.x_train, mnist.y_train, config.get("train_images"), seed)
    if count > 0:
        _, _, x_val, y_val = _split_validation(x, y, count, seed)
        where = f"the recipe's validation split: {count} training images held out with seed {seed}"
    else:
        _, _, x_val, y_val = _split_validation(x, y, FALLBACK_VALIDATION, seed)
        where = f"{FALLBACK_VALIDATION} training images (seed {seed}); no validation split recorded, the model saw them"
    return to_model_input(x_val), y_val, where


def nll(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of the true labels."""
    p = np.asarray(probabilities, np.float64)[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(p, 1e-45, None)).mean())


def ece(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """Expected calibration error: Σ_bins (n_b / n) |accuracy_b − mean confidence_b|, equal-width confidence bins."""
    confidence, correct, counts = reliability(probabilities, labels, bins)
    n = counts.sum()
    return float(np.sum(counts / n * np.abs(correct - confidence))) if n else 0.0


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS):
    """Per confidence bin: (mean confidence, accuracy, count); empty bins hold 0."""
    p = np.asarray(probabilities, np.float64)
    confidence, hit = p.max(axis=1), (p.argmax(axis=1) == labels).astype(np.float64)
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)  # (k/bins, (k+1)/bins]
    counts = np.bincount(which, minlength=bins).astype(np.float64)
    safe = np.maximum(counts, 1)
    return np.bincount(which, confidence, bins) / safe, np.bincount(which, hit, bins) / safe, counts


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The T in [0.05, 20] minimising NLL of ``softmax(log p / T)``: golden-section search on log T.

    NLL is convex in 1/T (a log-sum-exp of a linear function), so the search finds the minimum.
    """
    lo, hi = np.log(0.05), np.log(20.0)
    golden = (np.sqrt(5) - 1) / 2

    def loss(log_t: float) -> float:
        return nll(temperature_scale(probabilities.astype(np.float64), float(np.exp(log_t))), labels)

    a, b = hi - golden * (hi - lo), lo + golden * (hi - lo)
    fa, fb = loss(a), loss(b)
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - golden * (hi - lo)
            fa = loss(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + golden * (hi - lo)
            fb = loss(b)
    return float(np.exp((lo + hi) / 2))


def auroc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(score of a positive > score of a negative), ties counted half (the Mann-Whitney U statistic)."""
    negative = np.sort(np.asarray(negative, np.float64))
    positive = np.asarray(positive, np.float64)
    below = np.searchsorted(negative, positive, "left")
    tied = np.searchsorted(negative, positive, "right") - below
    return float((below + 0.5 * tied).sum() / (len(positive) * len(negative)))


def structure_limits(x_val: np.ndarray, rate: float = STRUCTURE_RATE) -> tuple[int, int, int]:
    """The smallest stroke, loop and island counts that at most ``rate`` of the validation digits exceed."""
    counts = np.array([structure(x) for x in x_val])
    return tuple(int(np.quantile(counts[:, i], 1 - rate, method="higher")) for i in range(3))


def fit_trust(probabilities: np.ndarray, labels: np.ndarray, x_val: np.ndarray, where: str) -> dict:
    """``{"calibration": ..., "rejection": ...}``, the card fields, from the fp32 model's validation probabilities."""
    temperature = fit_temperature(probabilities, labels)
    calibrated = temperature_scale(probabilities, temperature)
    threshold = float(np.quantile(negative_entropy(calibrated), REJECT_RATE))
    max_strokes, max_loops, max_islands = structure_limits(x_val)
    max_islands = max(max_islands, ISLANDS_OF_A_DOTTED_ZERO)  # MNIST has no dotted zero; the world does
    trust = Trust(temperature, threshold, max_strokes, max_loops, max_islands)
    rejected = np.array([trust.rejects(p, x) for p, x in zip(calibrated, x_val, strict=True)])
    return {
        "calibration": {
            "method": "temperature",
            "temperature": round(temperature, 6),
            "fitted_on": where,
            "images": int(len(labels)),
            "ece_before": round(ece(probabilities, labels), 6),
            "ece_after": round(ece(calibrated, labels), 6),
            "nll_before": round(nll(probabilities, labels), 6),
            "nll_after": round(nll(calibrated, labels), 6),
        },
        "rejection": {
            "method": "entropy+structure",
            "description": (
                "not a digit when the negative entropy of the calibrated probabilities is below threshold, "
                "or the 28x28 input has more than max_strokes separate strokes, more than max_loops closed loops, "
                "or more than max_islands strokes inside a loop"
            ),
            "threshold": round(threshold, 6),
            "max_strokes": max_strokes,
            "max_loops": max_loops,
            "max_islands": max_islands,
            "fitted_on": where,
            "target_reject_rate": REJECT_RATE,
            "validation_reject_rate": round(float(rejected.mean()), 6),
        },
    }


def synthetic_non_digits(x_digits: np.ndarray, count: int = 1500, seed: int = 0) -> np.ndarray:
    """``count`` deterministic 28×28 non-digits: uniform noise, two digits overlaid, random scribbles."""
    import cv2

    rng = np.random.default_rng(seed)
    third = count // 3
    noise = rng.random((third, 784), dtype=np.float32)
    pairs = rng.integers(0, len(x_digits), (third, 2))
    overlaid = np.maximum(
        x_digits[pairs[:, 0]], np.roll(x_digits[pairs[:, 1]].reshape(-1, 28, 28), 5, axis=2).reshape(-1, 784)
    )
    scribbles = np.zeros((count - 2 * third, 28, 28), np.float32)
    for img in scribbles:
        points = rng.integers(4, 24, (int(rng.integers(4, 9)), 2)).astype(np.int32)
        cv2.polylines(img, [points], False, 1.0, thickness=2)
    return np.concatenate([noise, overlaid, scribbles.reshape(-1, 784)]).astype(np.float32)


def decisions(trust: Trust, probabilities: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Per input: the digit the runtime answers, or −1 for "not a digit"."""
    calibrated = trust.calibrate(probabilities)
    return np.array([-1 if trust.rejects(p, x) else int(p.argmax()) for p, x in zip(calibrated, pixels, strict=True)])
