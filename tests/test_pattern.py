"""A piece of a pattern or the rim of a dark object is "not a digit"; a digit beside a table edge, specks or a
few marks is still read."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnist_edge.runtime import Predictor
from mnist_edge.runtime.locate import find_strokes
from mnist_edge.runtime.pattern import REPEATED_MARKS, on_a_dark_object, part_of_a_pattern, repeated_marks
from mnist_edge.runtime.preprocess import decode_picture, read_digits
from mnist_edge.runtime.row import digits_in_row
from mnist_edge.runtime.trust import NOT_A_DIGIT

pytestmark = pytest.mark.runtime


@pytest.fixture(scope="module")
def predictor():
    return Predictor()  # the shipped int8 model


def _pattern(picture: Image.Image) -> bool:
    gray = decode_picture(picture).gray
    ink, _, groups = find_strokes(gray)
    return part_of_a_pattern(ink, groups, digits_in_row(groups, ink))


def _page_with_digit(digit: np.ndarray, size=(400, 300), at=(230, 100)) -> Image.Image:
    page = Image.new("L", size, 235)
    page.paste(Image.fromarray(255 - digit).resize((112, 112)), at)  # dark ink on light paper, 4× MNIST
    return page


def test_stripes_across_the_frame_are_not_a_digit(predictor):
    picture = Image.new("L", (400, 300), 230)
    draw = ImageDraw.Draw(picture)
    for x in range(-300, 400, 22):  # thin diagonal stripes, each one a fine "1" on its own
        draw.line([(x, 300), (x + 300, 0)], fill=40, width=5)
    assert _pattern(picture)
    answer = predictor.predict(picture)
    assert answer.reason == NOT_A_DIGIT and answer.digits == "" and answer.label is None
    x0, y0, x1, y1 = answer.box  # where it looked, in the picture's pixels (what --explain draws)
    assert 0 <= x0 < x1 <= 400 and 0 <= y0 < y1 <= 300 and (x1 - x0) * (y1 - y0) < 400 * 300 / 2  # a piece


def test_a_hatched_box_cut_by_the_frame_is_not_a_digit(predictor):
    picture = Image.new("L", (300, 300), 235)
    draw = ImageDraw.Draw(picture)
    draw.rectangle([60, 90, 240, 210], outline=50, width=6)
    for x in range(-200, 400, 24):  # hatching through the box and beyond it, to the frame's edges
        draw.line([(x, 240), (x + 150, 60)], fill=50, width=4)
    assert _pattern(picture)
    assert predictor.predict(picture).reason == NOT_A_DIGIT


def test_a_digit_beside_a_table_edge_and_specks_is_read(sample, predictor):
    digit, label = sample.x_test[0], int(sample.y_test[0])
    page = _page_with_digit(digit)
    draw = ImageDraw.Draw(page)
    draw.rectangle([0, 0, 70, 300], fill=25)  # a dark table along one side: solid, not strokes
    for x, y in ((120, 40), (330, 250), (160, 260)):
        draw.ellipse([x, y, x + 6, y + 6], fill=60)  # specks
    assert not _pattern(page)
    assert predictor.predict(page).label == label


def test_a_number_beside_other_marks_is_read(sample):
    page = Image.new("L", (600, 300), 235)
    for k in range(4):
        page.paste(Image.fromarray(255 - sample.x_test[k]).resize((84, 84)), (120 + 84 * k, 100))
    draw = ImageDraw.Draw(page)
    draw.line([(30, 260), (90, 250)], fill=60, width=4)  # a pen mark far from the number
    assert not _pattern(page)
    assert len(read_digits(page).readings) == 4


def test_one_group_alone_is_never_a_pattern(sample):
    page = _page_with_digit(sample.x_test[1])
    gray = decode_picture(page).gray
    ink, _, groups = find_strokes(gray)
    assert len(groups) == 1
    assert not part_of_a_pattern(ink, groups, groups[:1])


def test_a_barcode_is_not_a_number_of_ones(predictor):
    picture = Image.new("L", (480, 360), 230)
    draw = ImageDraw.Draw(picture)
    x, widths, gaps = 80, (2, 3, 5, 7, 3, 2, 5), (3, 2, 5, 3)
    for k in range(20):  # bars of varied widths and gaps, each one a fine "1"
        draw.rectangle([x, 100, x + widths[k % 7], 260], fill=30)
        x += widths[k % 7] + gaps[k % 4]
    answer = predictor.predict(picture)
    assert answer.reason == NOT_A_DIGIT and answer.digits == "" and answer.box is not None


def test_only_long_rows_of_one_digit_are_repeated_marks():
    assert repeated_marks([1] * REPEATED_MARKS) and repeated_marks([0] * (REPEATED_MARKS + 3))
    assert not repeated_marks([1] * (REPEATED_MARKS - 1))  # "1111", "777": numbers people write
    assert not repeated_marks([1] * (REPEATED_MARKS - 1) + [7])


NON_DIGIT_SETS = importlib.util.spec_from_file_location(
    "non_digit_sets", Path(__file__).resolve().parents[1] / "benchmarks" / "non_digit_sets.py"
)


@pytest.fixture(scope="module")
def make_kind():
    module = importlib.util.module_from_spec(NON_DIGIT_SETS)
    NON_DIGIT_SETS.loader.exec_module(module)
    return module.make_kind


# seed 9's objects that were read as "1", "1" and "4", and cups whose handle was read as "7" and "2"
@pytest.mark.parametrize("index", [5, 8, 92, 1, 22])
def test_the_rim_of_a_dark_object_is_not_a_digit(make_kind, predictor, index):
    (picture, _), params = make_kind("objects", index, 9, None, None)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90)
    picked = decode_picture(buffer.getvalue())
    _, dark, groups = find_strokes(picked.gray)
    assert on_a_dark_object(picked.gray, dark, groups[0]), params  # the rim found first…
    result = predictor.predict(buffer.getvalue())
    assert result.digits == "" and result.reason == NOT_A_DIGIT  # …and no digit read


def test_ink_beside_a_dark_region_is_not_a_rim(sample):
    """A digit written close to a table's edge: dark on one side, but paper between, and no rim."""
    page = np.full((300, 400), 215, np.uint8)
    page[:, 300:] = 60  # the table
    page[90:202, 180:292] = 255 - np.asarray(Image.fromarray(sample.x_test[0]).resize((112, 112)))
    gray = decode_picture(page).gray
    _, dark, groups = find_strokes(gray)
    assert not on_a_dark_object(gray, dark, groups[0])
