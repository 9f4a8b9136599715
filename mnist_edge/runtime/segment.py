"""Digits written into each other, read by trying where to cut them: the model decides.

The row step (``row``) cuts a group where its columns say so, and the reader may take a piece
cut in two or two pieces joined (``row.halves``, ``row.joinable``). Where three digits or more
are written into each other, or the row step cut one of them through its middle, no such local
choice reads them. Then each run of pieces whose boxes touch or overlap (pieces of one group cut
apart, or digits written into each other) is read again as a whole: a path of least ink from top
to bottom (``row.cut_paths``) every ``CUT_STEP`` of a digit height, kept where it crosses one
stroke at most (touching digits meet in one stroke, as ``row`` cuts them); every stretch between
two kept paths that may be one digit read by the model; and the chain of stretches from the run's
left end to its right end whose digits read most surely taken (``best_chain``: the highest
product of their probabilities, by dynamic programming). The reader asks for this only when the
usual reading fails, and takes it only under conditions of its own (``predictor.third_look``).
"""

from __future__ import annotations

import math
import statistics
from typing import NamedTuple

import numpy as np

from .locate import Strokes
from .row import cut_paths, digit_piece, stroke_masks, strokes_crossed

CUT_STEP = 1 / 6  # of the digit height: candidate cuts this far apart (a 1 is about a sixth of a height wide)
MIN_WIDTH = 0.1  # of the digit height: a stretch narrower than this is no digit (a hairline 1 is wider)
MAX_WIDTH = 1.4  # …and one wider than this is not one digit (a wide 0 is about 1.2)
RUN_WIDTH = 1.0  # of the digit height: a run of pieces whose boxes touch or overlap is read again when this wide,
LONE_RUN_WIDTH = 1.6  # …a piece alone in its run when this wide (a letter w or m, an ∞ or a % is narrower),
LONE_PAIR_WIDTH = 1.2  # …and the only piece of a picture when this wide (two digits written into each other),
LONE_PAIR_MAX = 2.6  # …but no wider than this (two wide digits side by side; a long scribble is not two)


class Lattice(NamedTuple):
    """A run of touching pieces of a row, ``readings[start:stop]``, cut everywhere it may be cut:
    ``cuts`` cut positions (0 is the run's left end, ``cuts - 1`` its right end), and for each
    stretch ``spans[k] = (i, j)`` between two of them that may be one digit, its reading
    ``readings[k]`` (``preprocess.Reading``)."""

    start: int
    stop: int
    cuts: int
    spans: tuple[tuple[int, int], ...]
    readings: tuple


def touching_runs(digits: list[Strokes]) -> list[tuple[int, int]]:
    """[start, stop) of each run of neighbouring pieces whose boxes touch or overlap, at least
    ``RUN_WIDTH`` digit heights wide; a piece alone counts when it is ``LONE_RUN_WIDTH`` wide, or,
    when it is the picture's only piece, ``LONE_PAIR_WIDTH`` to ``LONE_PAIR_MAX`` wide
    (``predictor.third_look`` asks more of what it reads there)."""
    if not digits:
        return []
    height = float(statistics.median(d.box[3] - d.box[1] for d in digits))  # on every picture: numpy's costs 8 µs
    runs, start = [], 0
    for k in range(1, len(digits) + 1):
        if k == len(digits) or digits[k].box[0] > digits[k - 1].box[2]:
            x0 = digits[start].box[0]
            x1 = max(d.box[2] for d in digits[start:k])
            if len(digits) == 1:
                if LONE_PAIR_WIDTH * height <= x1 - x0 <= LONE_PAIR_MAX * height:
                    runs.append((start, k))
            elif x1 - x0 >= (RUN_WIDTH if k - start > 1 else LONE_RUN_WIDTH) * height:
                runs.append((start, k))
            start = k
    return runs


def cut_everywhere(group: Strokes, ink: np.ndarray, height: float) -> tuple[int, list, list[Strokes]]:
    """(how many cuts, the stretches (i, j) between two cuts that may be one digit, their strokes) of
    ``group``, the run's strokes together (``height``: the row's digit height). A stretch may be one
    digit when it is digit-sized beside the run and ``MIN_WIDTH`` to ``MAX_WIDTH`` heights wide."""
    x0, y0, x1, y1 = group.box
    width, group_h = x1 - x0, y1 - y0
    mask, _ = stroke_masks(group, ink)
    step = max(2, round(CUT_STEP * height))
    reach = max(1, step // 2)
    windows = []
    for middle in range(step, width - step // 2, step):
        lo, hi = max(1, middle - reach), min(width - 1, middle + reach + 1)
        if hi > lo:
            windows.append((lo, hi, middle, reach))
    inside = cut_paths(mask, windows) if windows else []
    rows = np.arange(group_h)
    inside = [path for path in inside if strokes_crossed(mask[rows, path]) <= 1]
    paths = [np.zeros(group_h, np.int64), *inside, np.full(group_h, width)]
    columns = np.arange(width)[None, :]
    total = float(mask.sum())
    spans, pieces = [], []
    for i in range(len(paths) - 1):
        for j in range(i + 1, len(paths)):
            span = float(np.mean(paths[j] - paths[i]))
            if span > MAX_WIDTH * height:
                break
            if span < MIN_WIDTH * height:
                continue
            part = mask * ((columns >= paths[i][:, None]) & (columns < paths[j][:, None]))
            piece = digit_piece(part, x0, y0, group_h, total)
            if piece is not None:
                spans.append((i, j))
                pieces.append(piece)
    return len(paths), spans, pieces


def best_chain(cuts: int, spans: list[tuple[int, int]], scores: list[float]) -> list[int] | None:
    """The indices of the spans that chain cut 0 to cut ``cuts - 1`` with the highest total score
    (``scores``: one per span, a log-probability; ``-inf`` for a stretch that is no digit), or None
    when no chain of digits does."""
    best = [-math.inf] * cuts
    came: list[int | None] = [None] * cuts
    best[0] = 0.0
    for k in sorted(range(len(spans)), key=lambda k: spans[k]):
        i, j = spans[k]
        if best[i] + scores[k] > best[j]:
            best[j], came[j] = best[i] + scores[k], k
    if not math.isfinite(best[-1]):
        return None
    chain, at = [], cuts - 1
    while at != 0:
        k = came[at]
        chain.append(k)
        at = spans[k][0]
    return chain[::-1]
