"""Digits of a few pixels a side (an 8×8 or 10×10 scan), and tiny digits enlarged block by block."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import encoded
from mnist_edge.runtime.normalize import native_pixels

pytestmark = pytest.mark.runtime


def _reduced(sample, side: int) -> list[tuple[np.ndarray, int]]:
    """The sample's real test digits, dark on white, area-averaged down to side × side pixels."""
    return [
        (cv2.resize(255 - digit, (side, side), interpolation=cv2.INTER_AREA), int(label))
        for digit, label in zip(sample.x_test, sample.y_test, strict=True)
    ]


def _read_right(predictor, pictures) -> int:
    return sum(predictor.predict(encoded(gray)).digits == str(label) for gray, label in pictures)


@pytest.mark.parametrize(("side", "least"), [(8, 90), (10, 96)])
def test_real_digits_of_a_few_pixels_are_read(predictor, sample, side, least):
    # 100 real MNIST test digits at 8×8 and 10×10: read on their own pixels, 68 and 90 were right; with
    # the card's threshold on them too, 83 and 96 (most of the rest "not a digit"); with only a nearly
    # uniform reading refused (TOO_SMALL_TO_JUDGE), 92 and 99
    assert _read_right(predictor, _reduced(sample, side)) >= least


def test_a_picture_too_small_for_the_threshold_is_no_digit_only_when_nearly_uniform(predictor, sample):
    from mnist_edge.runtime.preprocess import TOO_SMALL_TO_JUDGE, read_digits
    from mnist_edge.runtime.trust import near_uniform

    doubted = 0
    for gray, _ in _reduced(sample, 8):
        reading = read_digits(encoded(gray)).readings[0]
        assert reading.tiny
        row = predictor.probabilities(reading.tensor)[0].tolist()
        values, rejected = predictor.trust.judge(row, reading.tensor)
        doubted += rejected
        result = predictor.predict(encoded(gray))
        assert result.probabilities == pytest.approx(values)
        assert (result.label is None) == near_uniform(values)
    assert doubted >= 5  # the threshold would have turned these away
    noise = np.random.default_rng(0).integers(0, 256, (8, 8), dtype=np.uint8)
    assert predictor.predict(encoded(noise)).digits == ""  # the model cannot read it as any digit
    assert not read_digits(encoded(_reduced(sample, TOO_SMALL_TO_JUDGE + 1)[0][0])).readings[0].tiny


def test_a_digit_enlarged_block_by_block_reads_as_the_tiny_digit(predictor, sample):
    pictures = _reduced(sample, 8)[:30]
    for gray, _ in pictures:
        blocky = np.repeat(np.repeat(gray, 16, axis=0), 16, axis=1)  # 128×128 of 16×16 blocks
        tiny, big = predictor.predict(encoded(gray)), predictor.predict(encoded(blocky))
        assert big.digits == tiny.digits
        assert big.box == (0, 0, 128, 128)
    enlarged = [(np.repeat(np.repeat(g, 16, axis=0), 16, axis=1), label) for g, label in pictures]
    assert _read_right(predictor, enlarged) >= 25  # read block by block as strokes, 8 of them were right


def test_native_pixels_finds_the_block_size():
    rng = np.random.default_rng(0)
    tiny = rng.integers(0, 256, (8, 6), dtype=np.uint8)
    tiny[:2, :2] = 255  # the first two rows and columns agree inside the first block anyway
    assert np.array_equal(native_pixels(np.repeat(np.repeat(tiny, 12, axis=0), 12, axis=1), 64), tiny)
    assert native_pixels(tiny, 64) is None  # already small
    blocky = np.repeat(np.repeat(tiny, 12, axis=0), 12, axis=1)
    blocky[50, 40] ^= 1  # one pixel off: not an enlargement
    assert native_pixels(blocky, 64) is None
    smooth = cv2.resize(tiny, (72, 96), interpolation=cv2.INTER_CUBIC)
    assert native_pixels(smooth, 64) is None
    paper = np.full((300, 400), 255, np.uint8)
    paper[100:140, 200:230] = rng.integers(0, 256, (40, 30), dtype=np.uint8)  # a photo's detail on blank margins
    assert native_pixels(paper, 64) is None
