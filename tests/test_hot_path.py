"""The runtime's hot path was made cheaper without changing an answer: each shortcut against its plain rule."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mnist_edge.runtime.decode import _gray_png_size, _walk_png_chunks
from mnist_edge.runtime.locate import (
    BROKEN_STROKE_GAP,
    BROKEN_STROKE_WEIGHT,
    DIGIT_MAX_SIZE,
    Strokes,
    _frame_artifact,
    _group,
    ink_map,
    percentiles,
)
from mnist_edge.runtime.normalize import looks_like_mnist
from mnist_edge.runtime.predictor import to_prediction
from mnist_edge.runtime.preprocess import Reading, mnist_tensor, read_digits
from mnist_edge.runtime.trust import GRAY_INK, STROKE_INK, Shape, Trust, _depth, structure

pytestmark = pytest.mark.runtime


def _pairwise_groups(strokes: list[Strokes], gap: int, short: int, frame: tuple[int, int]) -> list[tuple]:
    """The merging rule as written first: every pair against every pair (numpy matrices), union–find."""
    boxes = np.array([s.box for s in strokes])
    dx = np.maximum(0, np.maximum(boxes[:, None, 0] - boxes[None, :, 2], boxes[None, :, 0] - boxes[:, None, 2]))
    dy = np.maximum(0, np.maximum(boxes[:, None, 1] - boxes[None, :, 3], boxes[None, :, 1] - boxes[:, None, 3]))
    size = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    ink = np.array([s.ink for s in strokes])
    similar = np.minimum(ink[:, None], ink[None, :]) >= BROKEN_STROKE_WEIGHT * np.maximum(ink[:, None], ink[None, :])
    sized = size <= DIGIT_MAX_SIZE * short
    similar &= sized[:, None] & sized[None, :]
    reach = np.where(similar, np.maximum(gap, BROKEN_STROKE_GAP * np.maximum(size[:, None], size[None, :])), gap)
    apart = np.array([_frame_artifact(s, *frame) for s in strokes])
    near = (dx <= reach) & (dy <= reach) & ~apart[:, None] & ~apart[None, :]
    label = list(range(len(strokes)))
    for i, j in zip(*np.nonzero(np.triu(near, 1)), strict=True):
        old, new = label[j], label[i]
        label = [new if v == old else v for v in label]
    groups: dict[int, list[int]] = {}
    for i, v in enumerate(label):
        groups.setdefault(v, []).append(i)
    ordered = sorted(groups.values(), key=min)
    return [
        (tuple(int(f(boxes[idx, k])) for k, f in enumerate((min, min, max, max))), sum(ink[i] for i in idx), len(idx))
        for idx in ordered
    ]


@pytest.mark.parametrize("n", [1, 2, 3, 6, 12, 40])
def test_grouping_swept_left_to_right_merges_exactly_what_the_pairwise_rule_merges(n):
    rng = np.random.default_rng(n)
    frame, short = (320, 240), 240
    for _ in range(150):
        strokes = []
        for _ in range(n):
            x, y = int(rng.integers(0, 300)), int(rng.integers(0, 225))
            w, h = int(rng.integers(1, 60)), int(rng.integers(1, 60))
            strokes.append(Strokes((x, y, x + w, y + h), (np.zeros((1, 1, 2), np.int32),), float(rng.integers(4, 600))))
        got = [(g.box, g.ink, len(g.contours)) for g in _group(strokes, 3, short, frame)]
        assert got == _pairwise_groups(strokes, 3, short, frame)


def test_ink_needs_no_paper_raised_to_the_pixel_first():
    """ink_map's last step: (max(paper, pixel) − pixel) / max(paper, pixel, level) with 8-bit saturating
    OpenCV arithmetic is (paper − pixel) / max(paper, level): where the paper is below the pixel both are 0."""
    rng = np.random.default_rng(0)
    for level in (1, 2, 60, 127):
        paper = rng.integers(0, 256, (300, 300), dtype=np.uint8)
        pixel = np.clip(paper.astype(int) + rng.integers(-80, 80, paper.shape), 0, 255).astype(np.uint8)
        raised = cv2.max(paper, pixel)
        plain = cv2.divide(cv2.subtract(raised, pixel), cv2.max(raised, level), scale=255)
        shortcut = cv2.divide(cv2.subtract(paper, pixel), cv2.max(paper, level), scale=255)
        assert np.array_equal(plain, shortcut)
    gray = cv2.GaussianBlur(rng.integers(0, 256, (120, 160), dtype=np.uint8), (5, 5), 0)
    ink, _ = ink_map(gray, 15)
    assert ink.dtype == np.uint8 and ink.shape == gray.shape and int(ink.max()) > 0


def test_percentiles_are_the_first_level_whose_share_reaches_each_quantile():
    rng = np.random.default_rng(1)
    for _ in range(200):
        gray = (rng.integers(0, 256, (int(rng.integers(1, 60)), 37)) // int(rng.integers(1, 64))).astype(np.uint8)
        quantiles = (0.01, 0.5, 0.95, 0.99, 1 / 3)
        levels = percentiles(gray, quantiles)
        values = np.sort(gray.ravel())
        for q, level in zip(quantiles, levels, strict=True):
            assert np.mean(values <= level) >= q or level == 255
            assert level == 0 or np.mean(values <= level - 1) < q


def test_one_digit_prediction_takes_the_first_of_equal_probabilities_and_calibrates():
    tie = np.array([0.1, 0.4, 0.4, 0.1, 0, 0, 0, 0, 0, 0], np.float32)
    assert to_prediction(tie).label == 1 == int(np.argmax(tie))
    trust = Trust(temperature=2.0, threshold=-10.0)
    p = to_prediction(tie, trust=trust)
    assert p.label == 1
    assert p.probabilities == tuple(trust.calibrate(tie).tolist())
    assert to_prediction(np.full(10, 0.1, np.float32), trust=Trust(threshold=-1.0)).reason == "not a digit"


def _odd_pictures() -> list[np.ndarray]:
    """28×28 uint8 pictures the stroke and loop rule turns away, or nearly: a grid, bars, specks, noise."""
    grid = np.zeros((28, 28), np.uint8)
    grid[[6, 7, 13, 14, 20, 21], 6:22] = 255
    grid[6:22, [6, 7, 13, 14, 20, 21]] = 255
    bars = np.zeros((28, 28), np.uint8)
    bars[6:22, [8, 9, 13, 14, 18, 19]] = 200
    specks = bars.copy()
    specks[[3, 24], [3, 24]] = 90  # just above the ink level: two one-pixel strokes
    noise = np.random.default_rng(3).integers(0, 256, (28, 28)).astype(np.uint8)
    blob = cv2.circle(np.zeros((28, 28), np.uint8), (14, 14), 8, 255, -1)  # a filled disc
    eye = cv2.circle(np.zeros((28, 28), np.uint8), (14, 14), 8, 255, 2)
    eye[13:16, 13:16] = 255  # ink inside a loop: an island
    return [grid, bars, specks, noise, blob, eye, np.full((28, 28), 89, np.uint8), np.zeros((28, 28), np.uint8)]


def test_the_gray_ink_level_is_the_float_rule_on_every_gray_value():
    gray = np.arange(256, dtype=np.uint8)
    assert np.array_equal(gray > GRAY_INK, gray.astype(np.float32) / 255.0 > STROKE_INK)


def test_the_looked_up_tensor_is_the_division_on_every_gray_value():
    gray = np.arange(28 * 28, dtype=np.uint16).reshape(28, 28).astype(np.uint8)  # every level, three times
    tensor = mnist_tensor(gray)
    assert tensor.dtype == np.float32 and tensor.shape == (784,) and tensor.flags.writeable
    assert np.array_equal(tensor, gray.astype(np.float32).reshape(-1) / 255.0)
    assert np.array_equal(mnist_tensor(gray.T), gray.T.astype(np.float32).reshape(-1) / 255.0)  # not contiguous


def test_strokes_and_loops_of_the_uint8_picture_are_those_of_its_tensor(sample):
    for gray in [*sample.x_test[:100], *_odd_pictures()]:
        tensor = (gray.astype(np.float32) / 255.0).reshape(-1)
        for limits in ((None, None, None), (2, 3, None), (2, 3, 0), (1, 1, 0), (0, 0, 0)):
            assert structure(gray, *limits) == structure(tensor, *limits)


def test_judge_is_calibrate_then_rejects_in_one_pass(sample):
    rng = np.random.default_rng(2)
    rows = [rng.dirichlet(np.full(10, a)).astype(np.float32) for a in (0.02, 0.1, 1.0, 30.0) for _ in range(25)]
    rows += [np.eye(10, dtype=np.float32)[3], np.full(10, 0.1, np.float32)]  # exact zeros, a uniform row
    pictures = [*sample.x_test[:20], *_odd_pictures()]
    trusts = [
        Trust(),
        Trust(0.755, -1.971288, 2, 3, 1),  # the shipped card's
        Trust(2.0, -0.5),
        Trust(1.0, -1.0, 1, 1),
        Trust(0.5, None, 2),
        Trust(1.2, -3.0, 2, 3, max_islands=0),
    ]
    decisions = set()
    for trust in trusts:
        for i, row in enumerate(rows):
            gray = pictures[i % len(pictures)]
            for pixels in (None, gray, gray.astype(np.float32) / 255.0):
                values, rejected = trust.judge(row.tolist(), pixels)
                calibrated = trust.calibrate(row)
                assert values == calibrated.tolist()
                assert rejected == trust.rejects(calibrated, pixels)
                decisions.add(rejected)
    assert decisions == {True, False}


def test_an_mnist_like_picture_takes_the_short_path_to_the_same_answer(predictor, sample):
    """``predict`` of a 28×28 that passes through skips the reading layers; it answers exactly as
    ``predict_batch`` (through ``read_digits``) and as the float rule on the tensor alone."""
    answers = set()
    for gray in [*sample.x_test[:60], *_odd_pictures()[:6]]:
        if not looks_like_mnist(gray):
            continue
        for source in (cv2.imencode(".png", gray)[1].tobytes(), gray):
            fast = predictor.predict(source)
            (batched,) = predictor.predict_batch([source])
            (reading,) = read_digits(source).readings
            plain = to_prediction(
                predictor.probabilities(reading.tensor)[0], Reading(reading.tensor, reading.box), predictor.trust
            )
            assert fast == batched == plain
            assert np.array_equal(fast.pixels, plain.pixels) and fast.pixels.dtype == np.float32
            answers.add(fast.digits or fast.reason)
    assert "not a digit" in answers and len(answers) >= 8


def test_the_common_png_layout_is_judged_intact_exactly_as_by_the_chunk_walk(sample):
    """IHDR, one IDAT, IEND: one unpacking and two CRCs instead of the walk; any damage or other layout
    gives the walk's verdict."""
    rng = np.random.default_rng(4)
    verdicts = []
    for gray in sample.x_test[:20]:
        data = cv2.imencode(".png", gray)[1].tobytes()
        assert data[37:41] == b"IDAT" and len(data) == 57 + int.from_bytes(data[33:37], "big")  # the common layout
        variants = [data, data[:-1], data + b"\0", data[:-12], data[:40]]
        for _ in range(30):
            damaged = bytearray(data)
            damaged[int(rng.integers(8, len(data)))] ^= 1 << int(rng.integers(0, 8))
            variants.append(bytes(damaged))
        for variant in variants:
            verdict = _gray_png_size(variant) is not None
            assert verdict == _walk_png_chunks(variant)
            verdicts.append(verdict)
    assert verdicts[0] and verdicts.count(False) > len(verdicts) // 2


def test_the_contour_bound_skips_the_depth_walk_only_when_nothing_is_inside_a_hole(sample):
    """Without a contour two levels deep, strokes are the top-level contours, loops the rest, islands 0."""
    nested = 0
    for gray in [*sample.x_test[:100], *_odd_pictures()]:
        ink = (gray > GRAY_INK).view(np.uint8)
        _, hierarchy = cv2.findContours(ink, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
        parents = [] if hierarchy is None else hierarchy[0, :, 3].tolist()
        depths = [_depth(i, parents) for i in range(len(parents))]
        outer = sum(d % 2 == 0 for d in depths)
        walked = Shape(outer, len(depths) - outer, sum(d >= 2 and d % 2 == 0 for d in depths))
        assert structure(gray, 99, 99, 99) == walked  # limits never reached: the bound itself
        nested += walked.islands > 0
    assert nested >= 1  # the eye's pupil took the walk


def _plain_looks_like_mnist(gray: np.ndarray) -> bool:
    """The MNIST check as written first: a boolean border, ``cv2.moments``."""
    if gray.shape != (28, 28):
        return False
    border = np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])
    if np.count_nonzero(border > 25) * 2 >= border.size:
        return False
    m = cv2.moments(gray)
    if m["m00"] <= 0:
        return False
    return abs(m["m01"] / m["m00"] - 13.5) <= 2.0 and abs(m["m10"] / m["m00"] - 13.5) <= 2.0


def test_the_mnist_check_on_bytes_and_one_product_is_the_plain_rule(sample):
    """Border counted on the bytes, moments from one product with the coordinates: every verdict as before,
    including pictures at the edge of each test (a border half bright, mass 2 px off centre)."""
    rng = np.random.default_rng(5)
    pictures = [*sample.x_test, *sample.x_train[:100], *_odd_pictures()]
    for digit in sample.x_test[:40]:
        pictures.append(np.roll(digit, tuple(int(v) for v in rng.integers(-4, 5, 2)), (0, 1)))
        pictures.append(255 - digit)
    for bright in (53, 54, 55):  # of the 108 border pixels: the median's edge
        picture = sample.x_test[0].copy()
        edge = np.concatenate([picture[0], picture[-1], picture[1:-1, 0], picture[1:-1, -1]])
        edge[:bright] = 26
        picture[0], picture[-1], picture[1:-1, 0], picture[1:-1, -1] = edge[:28], edge[28:56], edge[56:82], edge[82:]
        pictures.append(picture)
    for _ in range(300):
        pictures.append((rng.integers(0, 256, (28, 28)) * (rng.random((28, 28)) < rng.random())).astype(np.uint8))
    pictures += [np.zeros((28, 28), np.uint8), np.zeros((28, 29), np.uint8), np.full((28, 28), 255, np.uint8)]
    verdicts = [looks_like_mnist(p) for p in pictures]
    assert verdicts == [_plain_looks_like_mnist(p) for p in pictures]
    assert 0 < sum(verdicts) < len(verdicts)
    for d, expected in ((2, True), (3, False)):  # mass exactly 2 and 3 px right of (below) the centre
        right, below = np.zeros((28, 28), np.uint8), np.zeros((28, 28), np.uint8)
        right[13:15, 13 + d : 15 + d] = 255
        below[13 + d : 15 + d, 13:15] = 255
        for shifted in (right, below):
            assert looks_like_mnist(shifted) is expected is _plain_looks_like_mnist(shifted)
    assert looks_like_mnist(sample.x_test[0]) and not looks_like_mnist(sample.x_test[0].astype(np.float32))


def test_the_shape_rule_without_layers_is_the_structure_rule(sample):
    """``Trust.odd_shape`` (the contour bound in plain ints, exact counts only over it) answers as any count of
    ``structure`` over its limit, for every kind of limits, on the uint8 picture and on its tensor."""
    pictures = [*sample.x_test, *_odd_pictures()]
    rng = np.random.default_rng(6)
    pictures += [(rng.random((28, 28)) < rng.random() * 0.3).astype(np.uint8) * 255 for _ in range(100)]
    limit_sets = [(2, 3, 1), (2, 3, None), (1, 1, 0), (0, 0, 0), (None, 2, None), (3, None, 1), (None, None, None)]
    odd = set()
    for limits in limit_sets:
        trust = Trust(0.755, -1.97, *limits)
        for gray in pictures:
            shape = structure(gray, *limits)
            plain = any(limit is not None and count > limit for count, limit in zip(shape, limits, strict=True))
            assert trust.odd_shape(gray) == plain == trust.odd_shape(gray.astype(np.float32) / 255)
            odd.add(plain)
    assert odd == {True, False}
