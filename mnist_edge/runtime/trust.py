"""Calibrated confidence and "not a digit", applied as the model card says (issue 13).

Both are fitted at export time (``mnist_edge.export.calibrate``) and stored in the card:

- ``calibration``: a temperature T. The model outputs softmax probabilities, so their logarithm is
  the logits up to a per-row constant, and ``softmax(log p / T)`` is exactly temperature scaling.
- ``rejection``: a picture is "not a digit" when the calibrated probabilities are too uncertain
  (their negative entropy is below ``threshold``, set on validation digits), or when the 28×28
  the model saw has a shape no digit has: more separate strokes or closed loops (``max_strokes``,
  ``max_loops``), or more strokes inside a closed loop than a dotted zero (``max_islands``: the eyes
  and mouth of a face).

A number (digits in a row) is judged as a whole (``rejects_number``): a row of digit-sized marks is
itself evidence of digits, so one doubtful digit among sure ones is read, not a reason to turn the
number away; a row is "not a digit" when half its digits fail the rule or any one is nearly uniform
(what a model trained with non-digits makes of a letter), unless that one is alone in a long row of
sure digits (a damaged digit: a loop a marker filled, an end clipped).

A card without these fields (an older export) gives T = 1 and no rejection: today's behaviour.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from ..contract import SIDE

NOT_A_DIGIT = "not a digit"
STROKE_INK = 0.35  # a pixel of the 28×28 is ink above this
MIN_STROKE_FRACTION = 0.1  # a stroke counts when it has this fraction of the largest stroke's pixels
MIN_LOOP_PIXELS = 4  # a closed loop encloses at least this many paper pixels
MIN_ISLAND_PIXELS = 3  # ink inside a loop counts when it has at least this many pixels (a speck does not)
NEAR_UNIFORM = 0.05  # nats: a number's digit whose entropy is this close to the uniform's (ln 10) is no digit,
DAMAGED_ROW = 5  # …except the only one in a row of at least this many digits,…
SURE_NEIGHBOURS = 0.95  # …all the others read at least this surely (calibrated): a damaged digit, not a letter
# the same ink on the 8-bit picture a pass-through input is made of (``gray / 255.0`` in float32): above this
GRAY_INK = int(np.count_nonzero(np.arange(256, dtype=np.float32) / 255.0 <= STROKE_INK)) - 1


@dataclass(frozen=True)
class Trust:
    temperature: float = 1.0
    threshold: float | None = None  # minimum negative entropy (nats) of the calibrated probabilities
    max_strokes: int | None = None
    max_loops: int | None = None
    max_islands: int | None = None

    @classmethod
    def from_card(cls, card: dict) -> Trust:
        calibration, rejection = card.get("calibration") or {}, card.get("rejection") or {}
        return cls(
            temperature=float(calibration.get("temperature", 1.0)),
            threshold=rejection.get("threshold"),
            max_strokes=rejection.get("max_strokes"),
            max_loops=rejection.get("max_loops"),
            max_islands=rejection.get("max_islands"),
        )

    def calibrate(self, probabilities: np.ndarray) -> np.ndarray:
        """Temperature-scaled probabilities, same shape; unchanged (the same array) when T is 1."""
        if self.temperature == 1.0:
            return probabilities
        if probabilities.ndim == 1:  # one digit: plain floats are several times faster than numpy on 10 values
            return np.array(_scaled_row(probabilities.tolist(), self.temperature), probabilities.dtype)
        return temperature_scale(probabilities, self.temperature)

    def judge(self, raw: list[float], pixels: np.ndarray | None = None) -> tuple[list[float], bool]:
        """One digit in one pass: (its calibrated probabilities as plain floats, whether it is not a digit).

        ``raw``: the model's 10 float32 probabilities as plain floats; ``pixels``: as for ``rejects``.
        The same values and decision as ``calibrate`` then ``rejects``, without numpy on 10 values
        (after the model call every call runs with cold caches and costs several times its isolated time).
        """
        values = raw if self.temperature == 1.0 else array("f", _scaled_row(raw, self.temperature)).tolist()
        if self.threshold is not None and _row_negative_entropy(values) < self.threshold:
            return values, True
        return values, pixels is not None and self.odd_shape(pixels)

    def rejects(self, calibrated: np.ndarray | list[float], pixels: np.ndarray | None = None) -> bool:
        """True when one input is not a digit: its calibrated probabilities ``[10]``, its 784 pixels
        (or the 28×28 uint8 picture a pass-through input is ``/ 255`` of: the same ink, no float copy).

        The entropy rule comes first: the shape is measured only when it accepts.
        """
        if self.threshold is not None:
            values = calibrated.tolist() if isinstance(calibrated, np.ndarray) else calibrated
            if _row_negative_entropy(values) < self.threshold:
                return True
        return pixels is not None and self.odd_shape(pixels)

    def odd_shape(self, pixels: np.ndarray) -> bool:
        """The card's shape rules: True when ``pixels`` (as for ``rejects``) have a shape no digit has
        (more strokes, loops or islands than allowed).

        As ``structure`` with the card's limits, without its layers: the common digit is settled by
        the contour bound alone (plain ints; on the single-digit path every call runs with cold
        caches, where each Python layer costs about as much as OpenCV's work).
        """
        most = self.max_strokes, self.max_loops, self.max_islands
        if most == (None, None, None):
            return False
        ink = _ink(pixels)
        if most[0] is not None and most[1] is not None:
            strokes, loops, islands = _contour_bound(ink)
            if strokes <= most[0] and loops <= most[1] and (most[2] is None or islands <= most[2]):
                return False
        strokes, loops, islands = _exact_shape(ink)
        return (
            (most[0] is not None and strokes > most[0])
            or (most[1] is not None and loops > most[1])
            or (most[2] is not None and islands > most[2])
        )

    def rejects_number(self, calibrated: Sequence[Sequence[float]], rejected: Sequence[bool]) -> bool:
        """True when a row of digits is not a number; ``rejected``: ``rejects`` of each digit.

        With an entropy rule in the card: when at least half the digits are rejected, or any one is
        within NEAR_UNIFORM of the uniform distribution, except one alone in a row of DAMAGED_ROW
        digits or more whose others all read at least SURE_NEIGHBOURS surely. Without one: when any
        digit is rejected.
        """
        if self.threshold is None:
            return any(rejected)
        if 2 * sum(rejected) >= len(rejected):
            return True
        unreadable = [i for i, row in enumerate(calibrated) if near_uniform(row)]
        if len(unreadable) == 1 and len(calibrated) >= DAMAGED_ROW:
            # a letter among digit-like letters is a short word's (STOP reads 5, 7, 0 and a P no digit
            # resembles); one among five sure digits or more is a damaged digit of a number
            others = [max(row) for i, row in enumerate(calibrated) if i != unreadable[0]]
            return min(others) < SURE_NEIGHBOURS
        return bool(unreadable)


def near_uniform(calibrated: Sequence[float]) -> bool:
    """Whether one digit's calibrated probabilities are within NEAR_UNIFORM nats of the uniform
    distribution's entropy: the model cannot read it as any digit (a letter, two digits in one)."""
    return _row_negative_entropy(calibrated) < NEAR_UNIFORM - math.log(len(calibrated))


def _row_negative_entropy(row: Sequence[float]) -> float:
    """``Σ p log p`` of one row of plain floats (faster than numpy on 10 values)."""
    log = math.log
    return sum([p * log(p) for p in row if p > 0])


def _scaled_row(row: list[float], temperature: float) -> list[float]:
    log = math.log
    logits = [log(p if p > 1e-45 else 1e-45) / temperature for p in row]  # log(max(p, 1e-45)) of finite p
    top = max(logits)
    exps = [math.exp(v - top) for v in logits]
    total = sum(exps)
    return [e / total for e in exps]


def temperature_scale(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log p / T)`` row by row, in float64 then back to the input's dtype."""
    logits = np.log(np.clip(np.asarray(probabilities, np.float64), 1e-45, None)) / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    scaled = np.exp(logits)
    return (scaled / scaled.sum(axis=-1, keepdims=True)).astype(np.asarray(probabilities).dtype)


def negative_entropy(probabilities: np.ndarray) -> np.ndarray:
    """``Σ p log p`` per row: 0 for a certain answer, −log 10 ≈ −2.30 for a uniform one."""
    p = np.clip(np.asarray(probabilities, np.float64), 1e-45, 1.0)
    return (p * np.log(p)).sum(axis=-1)


class Shape(NamedTuple):
    """What a 28×28 input's ink looks like, counted as ``structure`` does."""

    strokes: int  # separate strokes (8-connected ink; specks under MIN_STROKE_FRACTION of the largest left out)
    loops: int  # closed loops (4-connected paper that does not reach the edge, ≥ MIN_LOOP_PIXELS)
    islands: int  # strokes inside a closed loop (≥ MIN_ISLAND_PIXELS): no digit has one


def structure(
    pixels: np.ndarray, max_strokes: int | None = None, max_loops: int | None = None, max_islands: int | None = None
) -> Shape:
    """The strokes, loops and islands of a 28×28 input: an MNIST digit has one stroke, ≤ 2 loops, no island.

    With limits given, the three counts are first bounded from above by one contour pass (every stroke
    has one outer contour, every hole one inner contour, specks and pinholes included; an outer contour
    inside a hole is an island), and measured exactly only when a bound is over its limit: the common
    digit costs one fast OpenCV call. ``pixels``: as for ``Trust.rejects``.
    """
    return _structure(_ink(pixels), max_strokes, max_loops, max_islands)


def _structure(ink: np.ndarray, max_strokes: int | None, max_loops: int | None, max_islands: int | None) -> Shape:
    if max_strokes is not None and max_loops is not None:
        bound = Shape(*_contour_bound(ink))
        if (
            bound.strokes <= max_strokes
            and bound.loops <= max_loops
            and (max_islands is None or bound.islands <= max_islands)
        ):
            return bound
    return _exact_shape(ink)


def _contour_bound(ink: np.ndarray) -> tuple[int, int, int]:
    """Strokes, loops and islands bounded from above by one contour pass (see ``structure``)."""
    # only the number of contours counts, not their points: the simplest chain is enough
    _, hierarchy = cv2.findContours(ink, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    parents = [] if hierarchy is None else hierarchy[0, :, 3].tolist()
    if all(parents[p] < 0 for p in parents if p >= 0):  # nothing inside a hole (every digit): no walk
        outer = parents.count(-1)
        return outer, len(parents) - outer, 0
    depths = [_depth(i, parents) for i in range(len(parents))]
    outer = sum(d % 2 == 0 for d in depths)
    return outer, len(depths) - outer, sum(d >= 2 and d % 2 == 0 for d in depths)


def _exact_shape(ink: np.ndarray) -> Shape:
    """Strokes, loops and islands counted exactly: specks, pinholes and small islands left out."""
    _, strokes, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    n_strokes = int((areas >= MIN_STROKE_FRACTION * areas.max()).sum()) if len(areas) else 0
    _, paper, stats, _ = cv2.connectedComponentsWithStats(ink ^ 1, connectivity=4)
    x, y, w, h, area = (stats[1:, i] for i in range(5))
    inside = (x > 0) & (y > 0) & (x + w < SIDE) & (y + h < SIDE)  # paper that does not reach the edge
    return Shape(n_strokes, int((inside & (area >= MIN_LOOP_PIXELS)).sum()), _islands(strokes, areas, paper, inside))


def _depth(i: int, parents: list[int]) -> int:
    depth = 0
    while parents[i] >= 0:
        i, depth = parents[i], depth + 1
    return depth


def _islands(strokes: np.ndarray, areas: np.ndarray, paper: np.ndarray, inside: np.ndarray) -> int:
    """Strokes of at least MIN_ISLAND_PIXELS that touch no paper reaching the edge and not the edge itself."""
    outside = np.isin(paper, 1 + np.flatnonzero(~inside))  # paper connected to the frame's edge
    reach = cv2.dilate(outside.view(np.uint8), cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))).view(bool)
    open_strokes = set(np.unique(strokes[reach]).tolist())
    open_strokes |= set(np.unique(np.concatenate([strokes[0], strokes[-1], strokes[:, 0], strokes[:, -1]])).tolist())
    return sum(1 for k in range(1, len(areas) + 1) if k not in open_strokes and areas[k - 1] >= MIN_ISLAND_PIXELS)


def _ink(pixels: np.ndarray) -> np.ndarray:
    """The 28×28 ink mask (uint8 0/1) of the model's input, or of the uint8 picture it is ``/ 255`` of."""
    if type(pixels) is np.ndarray and pixels.dtype == np.uint8:
        return cv2.threshold(
            pixels if pixels.ndim == 2 else pixels.reshape(SIDE, SIDE), GRAY_INK, 1, cv2.THRESH_BINARY
        )[1]
    return (np.asarray(pixels, np.float32).reshape(SIDE, SIDE) > STROKE_INK).view(np.uint8)
