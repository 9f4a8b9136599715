"""A digit that fills its picture (cropped tight to it, a marker's close-up) is read whole; nothing else is."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import encoded
from mnist_edge.runtime.predictor import to_number_prediction
from mnist_edge.runtime.preprocess import Digits, Reading, read_digits

pytestmark = pytest.mark.runtime


def _cropped(digit: np.ndarray, zoom: int) -> np.ndarray:
    """A real MNIST digit (light on dark) cut out to its ink's box, enlarged, dark on white (a cropped scan)."""
    rows, cols = np.flatnonzero((digit > 30).any(axis=1)), np.flatnonzero((digit > 30).any(axis=0))
    ink = digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return 255 - cv2.resize(ink, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_CUBIC)


def _square(digit: np.ndarray, side: int) -> np.ndarray:
    """The digit's ink box scaled to fill a ``side``-pixel square (no margin), dark on white."""
    rows, cols = np.flatnonzero((digit > 30).any(axis=1)), np.flatnonzero((digit > 30).any(axis=0))
    ink = digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    s = side / max(ink.shape)
    w, h = max(1, round(ink.shape[1] * s)), max(1, round(ink.shape[0] * s))
    square = np.zeros((side, side), np.uint8)
    y, x = (side - h) // 2, (side - w) // 2
    square[y : y + h, x : x + w] = cv2.resize(ink, (w, h), interpolation=cv2.INTER_CUBIC)
    return 255 - square


def test_a_digit_cropped_to_its_box_is_read(predictor, sample):
    pairs = list(zip(sample.x_test[:30], sample.y_test[:30], strict=True))
    right = sum(predictor.predict(encoded(_cropped(d, 8))).digits == str(t) for d, t in pairs)
    assert right >= 27  # of 30 (29 here); before, the search read pieces of it: 18 right


def test_a_digit_filling_a_square_picture_is_read(predictor, sample):
    pairs = list(zip(sample.x_test[30:60], sample.y_test[30:60], strict=True))
    right = sum(predictor.predict(encoded(_square(d, 160))).digits == str(t) for d, t in pairs)
    assert right >= 27  # of 30 (29 here); before: 18


def test_the_batch_path_reads_them_as_predict_does(predictor, sample):
    pictures = [encoded(_cropped(d, 8)) for d in sample.x_test[60:70]]
    assert [p.digits for p in predictor.predict_batch(pictures)] == [predictor.predict(p).digits for p in pictures]


def test_a_digit_with_paper_around_it_gets_no_whole_reading(sample):
    paper = np.full((240, 320), 235, np.uint8)
    ink = 255 - cv2.resize(sample.x_test[0], (84, 84), interpolation=cv2.INTER_CUBIC)
    paper[80:164, 120:204] = np.minimum(paper[80:164, 120:204], ink)
    assert read_digits(encoded(paper)).whole is None
    assert read_digits(encoded(_cropped(sample.x_test[0], 8))).whole is not None  # the same digit cut out


def test_a_texture_gets_no_whole_reading():
    noise = np.random.default_rng(0).integers(0, 256, (200, 200)).astype(np.uint8)
    assert read_digits(encoded(cv2.GaussianBlur(noise, (0, 0), 3) * 4)).whole is None


def test_the_whole_reading_is_taken_when_the_pieces_are_no_digit_or_clearly_pieces():
    from mnist_edge.runtime.trust import Trust

    trust = Trust(temperature=1.0, threshold=-1.0)
    blank = np.zeros(784, np.float32)
    sure = lambda d, p=0.97: [p if k == d else (1 - p) / 9 for k in range(10)]  # noqa: E731
    uniform = [0.1] * 10
    piece, whole = Reading(blank, (10, 10, 20, 40)), Reading(blank, (0, 0, 50, 60))

    def read(rows, first=False):
        found = Digits((piece,), whole=whole, whole_first=first)
        return to_number_prediction(np.array(rows, np.float32), found, trust)

    assert (read([uniform, sure(3)]).digits, read([uniform, sure(3)]).box) == ("3", (0, 0, 50, 60))  # piece refused
    assert read([sure(7, 0.9), sure(3)]).digits == "7"  # the piece is a digit: kept, however sure the whole is
    assert read([sure(7, 0.9), sure(3)], first=True).digits == "3"  # clearly a piece: the surer reading
    assert read([sure(7), sure(3, 0.9)], first=True).digits == "7"
    assert read([uniform, uniform]).digits == ""  # neither is a digit
    nothing = Digits((), "no digit found", whole=whole)
    assert to_number_prediction(np.array([sure(5)], np.float32), nothing, trust).digits == "5"
