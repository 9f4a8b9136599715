"""Numbers: every digit of a row read left to right, with boxes; touching digits cut; a lone digit stays one."""

from __future__ import annotations

import dataclasses
import io
import json
import math

import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import run_cli
from mnist_edge.fonts import training_fonts
from mnist_edge.photo_like import ROW_HEIGHT, row_picture
from mnist_edge.photo_like import digit_ink as ink
from mnist_edge.runtime import format_line, predict_files, prediction_record, read_digits
from mnist_edge.runtime.locate import find_strokes
from mnist_edge.runtime.preprocess import _zoomed, decode_picture
from mnist_edge.runtime.row import digits_in_row

pytestmark = pytest.mark.runtime

HEIGHT = ROW_HEIGHT  # digit height in the test pictures, pixels


@pytest.fixture(scope="module")
def clean_right(sample, predictor):
    """{label: [indices]} of sample test digits the model reads right from their clean 28×28 (not 1s: too thin to test cuts)."""
    predicted = predictor.probabilities(sample.x_test.reshape(len(sample.x_test), -1) / np.float32(255)).argmax(axis=1)
    out: dict[int, list[int]] = {}
    for i, (p, y) in enumerate(zip(predicted, sample.y_test, strict=True)):
        if p == y and y != 1:
            out.setdefault(int(y), []).append(i)
    return out


@pytest.fixture(scope="module")
def ones(sample, predictor):
    """Indices of sample test "1"s the model reads right from their clean 28×28, most upright first."""
    x = sample.x_test.reshape(len(sample.x_test), -1) / np.float32(255)
    predicted = predictor.probabilities(x).argmax(axis=1)
    right = [i for i in np.flatnonzero((sample.y_test == 1) & (predicted == 1))]
    return sorted(right, key=lambda i: ink(sample.x_test[i]).shape[1])


def pick(clean_right, labels: str) -> tuple[list[int], str]:
    used: dict[int, int] = {}
    indices = []
    for ch in labels:
        d = int(ch)
        indices.append(clean_right[d][used.get(d, 0) % len(clean_right[d])])
        used[d] = used.get(d, 0) + 1
    return indices, labels


def test_a_four_digit_row_is_read_left_to_right_with_boxes(sample, clean_right, predictor):
    indices, number = pick(clean_right, "2036")
    data, starts = row_picture([sample.x_test[i] for i in indices], [0.35, 0.5, 0.25])
    result = predictor.predict(data)
    assert result.digits == number and result.label is None and result.probabilities is None
    assert [r.label for r in result.readings] == [int(c) for c in number]
    lefts = [r.box[0] for r in result.readings]
    assert lefts == sorted(lefts) and all(abs(a - b) <= 6 for a, b in zip(lefts, starts, strict=True))
    assert result.box == (
        min(r.box[0] for r in result.readings),
        min(r.box[1] for r in result.readings),
        max(r.box[2] for r in result.readings),
        max(r.box[3] for r in result.readings),
    )
    assert result.confidence == min(r.confidence for r in result.readings)
    assert result.pixels.shape == (4, 784)


def test_touching_digits_are_cut_apart(sample, clean_right, predictor):
    indices, number = pick(clean_right, "730")
    data, _ = row_picture([sample.x_test[i] for i in indices], [0.4, -0.05])
    assert len(read_digits(data).readings) == 3
    assert predictor.predict(data).digits == number


def test_a_sloped_row_with_uneven_gaps(sample, clean_right, predictor):
    indices, number = pick(clean_right, "3852")
    for angle in (-5, 5):
        data, _ = row_picture([sample.x_test[i] for i in indices], [0.15, 0.6, 0.3], angle=angle)
        assert predictor.predict(data).digits == number


def test_a_single_digit_with_a_detached_stroke_stays_one_digit(sample, clean_right, predictor):
    i = clean_right[5][0]
    data, _ = row_picture([sample.x_test[i]], [])
    picture = np.asarray(Image.open(io.BytesIO(data)).convert("L")).copy()
    picture[HEIGHT - 14 : HEIGHT - 8, HEIGHT + 10 : HEIGHT + 40] = 30  # a short bar above the digit, apart from it
    picture[HEIGHT + 30 : HEIGHT + 34, 40:48] = 40  # and a speck beside it
    assert len(read_digits(picture).readings) == 1  # one digit found, not three
    result = predictor.predict(picture)  # (its three strokes may make it "not a digit": never a number)
    assert len(result.digits) <= 1 and len(result.readings) <= 1


def test_single_digits_keep_their_shape(sample, predictor):
    for i in range(10):
        result = predictor.predict(sample.x_test[i])
        assert result.digits == str(result.label) == str(int(sample.y_test[i])) or result.label != sample.y_test[i]
        assert len(result.readings) == 1 and result.readings[0].probabilities == result.probabilities
        assert result.reason is None and result.box == result.readings[0].box


def test_a_picture_without_a_digit_is_an_answer_not_an_error(predictor):
    blank = predictor.predict(np.full((200, 300), 240, np.uint8))
    assert blank.digits == "" and blank.label is None and blank.readings == () and "no digit" in blank.reason
    record = prediction_record("b.png", blank)
    assert record["digits"] == "" and record["reason"] == blank.reason and record["readings"] == []
    assert format_line("b.png", blank) == f"b.png: {blank.reason}"


def test_records_carry_the_number_and_each_digit(sample, clean_right, predictor, tmp_path):
    indices, number = pick(clean_right, "709")
    data, _ = row_picture([sample.x_test[i] for i in indices], [0.3, 0.3])
    (tmp_path / "n.jpg").write_bytes(data)
    Image.new("L", (50, 50), 0).save(tmp_path / "blank.png")
    (tmp_path / "bad.png").write_bytes(b"not a picture")
    outcomes = dict(predict_files(predictor, [str(tmp_path / n) for n in ("n.jpg", "blank.png", "bad.png")]))
    record = json.loads(format_line("n.jpg", outcomes[str(tmp_path / "n.jpg")], as_json=True))
    assert record["digits"] == number and record["label"] is None and record["reason"] is None
    assert [r["label"] for r in record["readings"]] == [int(c) for c in number]
    assert all(len(r["probabilities"]) == 10 and len(r["box"]) == 4 for r in record["readings"])
    assert outcomes[str(tmp_path / "blank.png")].digits == ""
    assert isinstance(outcomes[str(tmp_path / "bad.png")], Exception)


def test_the_cli_prints_the_number(sample, clean_right, tmp_path):
    indices, number = pick(clean_right, "2026")
    data, _ = row_picture([sample.x_test[i] for i in indices], [0.3, 0.4, 0.3])
    (tmp_path / "year.jpg").write_bytes(data)
    Image.new("L", (300, 200), 240).save(tmp_path / "empty.png")
    text = run_cli("predict", tmp_path / "year.jpg", tmp_path / "empty.png")
    assert text.returncode == 0, text.stderr
    assert f"year.jpg: {number} (" in text.stdout and "empty.png: no digit found" in text.stdout
    records = [json.loads(line) for line in run_cli("predict", "--json", tmp_path / "year.jpg").stdout.splitlines()]
    assert records[0]["digits"] == number and len(records[0]["readings"]) == 4


def test_a_vertical_one_on_a_canvas_is_a_one_not_a_ruled_line(predictor):
    canvas = np.full((280, 280), 255, np.uint8)
    canvas[50:230, 137:145] = 0  # one straight vertical stroke, as drawn with a mouse
    canvas[240:246, 40:46] = 0  # and a speck
    result = predictor.predict(canvas)
    assert result.digits == "1"
    assert result.box[0] <= 137 < 145 <= result.box[2]


def test_ruled_lines_are_still_dropped(predictor, sample, clean_right):
    page = np.full((400, 600), 235, np.uint8)
    page[::40, :] = 150  # flat ruled lines across the frame
    page[:, 60] = 120  # a margin line from edge to edge
    digit = 255 - sample.x_test[clean_right[4][0]]
    page[180:264, 280:364] = np.minimum(page[180:264, 280:364], np.kron(digit, np.ones((3, 3), np.uint8)))
    assert predictor.predict(page).digits == "4"


def test_a_one_close_beside_a_digit_is_cut_from_it(sample, clean_right, ones, predictor):
    """A "1" a tenth of a height from a narrow 9 is grouped with it, and the pair is no wider than one
    digit: it is cut because the 1 is a straight stroke standing apart."""
    indices, _ = pick(clean_right, "49")
    inks = [ink(sample.x_test[indices[0]]), ink(sample.x_test[ones[0]]), ink(sample.x_test[indices[1]])]
    nine = Image.fromarray((inks[2] * 255).astype(np.uint8)).resize((round(0.6 * HEIGHT), HEIGHT))
    inks[2] = np.asarray(nine, np.float32) / 255
    assert sum(a.shape[1] for a in inks[1:]) + round(0.1 * HEIGHT) < HEIGHT  # the pair: narrower than tall
    data, _ = row_picture([], [0.5, 0.1], inks=inks)
    assert predictor.predict(data).digits == "419"


def test_a_thin_one_inside_a_long_group_is_a_digit(sample, clean_right, ones, predictor):
    """Digits written close are one group; a 1 holds a small share of its ink and is still a digit."""
    indices, _ = pick(clean_right, "586")
    digits = [sample.x_test[indices[0]], sample.x_test[ones[1]], sample.x_test[indices[1]], sample.x_test[indices[2]]]
    data, _ = row_picture(digits, [0.12, 0.12, 0.12])
    assert predictor.predict(data).digits == "5186"


def test_a_pale_digit_at_the_end_of_a_row_is_read(sample, clean_right, predictor):
    """A digit in a paler pen than its neighbours falls below the picture's ink threshold; it is found
    again beside the row."""
    indices, number = pick(clean_right, "2036")
    inks = [ink(sample.x_test[i]) for i in indices]
    inks[-1] = inks[-1] * 0.3  # a pale pen: less than the picture's threshold (0.4 of the darkest ink)
    data, _ = row_picture([], [0.4, 0.4, 0.4], inks=inks)
    assert predictor.predict(data).digits == number


def test_pale_digits_beside_a_lone_dark_digit_are_read(sample, clean_right, predictor):
    """Where the picture's threshold finds one dark digit of a number alone (its neighbours in a paler pen,
    or two dark digits too far apart with pale ones between them), the paler digits are looked for
    beside it as beside a row of several."""
    for labels, pale in (("7305", [1, 2]), ("4082", [1, 2]), ("53", [1])):
        indices, number = pick(clean_right, labels)
        inks = [ink(sample.x_test[i]) * (0.3 if k in pale else 1.0) for k, i in enumerate(indices)]
        data, _ = row_picture([], [0.4] * (len(labels) - 1), inks=inks)
        assert predictor.predict(data).digits == number, labels


def test_a_wide_zero_in_a_row_stays_one_digit(sample, clean_right, predictor):
    """Every column near the middle of a wide 0 crosses two strokes: it is not two touching digits."""
    indices, number = pick(clean_right, "703")
    inks = [ink(sample.x_test[i]) for i in indices]
    inks[1] = np.zeros((HEIGHT, round(HEIGHT * 1.5)), np.float32)  # an upright oval 1.5 heights wide
    cv2.ellipse(
        inks[1], (inks[1].shape[1] // 2, HEIGHT // 2), (inks[1].shape[1] // 2 - 6, HEIGHT // 2 - 6), 0, 0, 360, 1.0, 9
    )
    data, _ = row_picture([], [0.4, 0.4], inks=inks)
    found = read_digits(data)
    assert len(found.readings) == 3
    assert predictor.predict(data).digits == number


def test_the_two_arcs_of_a_broken_zero_stay_one_digit(sample, clean_right, predictor):
    """A 0 whose strokes do not meet leaves two tall pieces apart; neither is straight, so no cut."""
    i = clean_right[0][0]
    zero = ink(sample.x_test[i])
    middle = zero.shape[1] // 2
    zero[:, middle - 5 : middle + 5] = 0  # a blank band through the middle: two arcs
    data, _ = row_picture([], [0.4], inks=[ink(sample.x_test[clean_right[3][0]]), zero])
    assert len(read_digits(data).readings) == 2


def test_a_short_flourish_of_a_wide_digit_is_not_a_digit(sample, clean_right, predictor):
    """A 4 whose bar runs on and bends down (a flourish 0.6 of its height) is wide enough to be cut at
    ink, and the flourish alone is digit-sized for the group; it is shorter than its sibling piece
    can be for two digits of one row (0.65 of the tallest), so the 4 stays one digit."""
    indices, _ = pick(clean_right, "34")
    three, four = (ink(sample.x_test[i]) for i in indices)
    reach = round(0.65 * HEIGHT)
    wide = np.zeros((HEIGHT, four.shape[1] + reach), np.float32)
    wide[:, : four.shape[1]] = four
    top, right = round(0.38 * HEIGHT), four.shape[1] + reach - 8
    cv2.line(wide, (four.shape[1] - 8, top), (right, top), 1.0, 7)  # the bar, running on
    cv2.line(wide, (right, top), (right, top + round(0.6 * HEIGHT) - 7), 1.0, 7)  # …and bending down
    data, _ = row_picture([], [0.4], inks=[three, wide])
    assert len(read_digits(data).readings) == 2


def test_a_digit_touching_a_line_across_the_row_is_read(sample, clean_right, predictor):
    """A margin line through the last digit's edge makes it one group far taller than the row's
    digits; above and below the row it is a thin straight line, which is erased to find the digit."""
    indices, number = pick(clean_right, "2036")
    inks = [ink(sample.x_test[i]) for i in indices]
    last = inks[-1]
    inks[-1] = np.zeros((HEIGHT, last.shape[1] + 4), np.float32)
    inks[-1][:, : last.shape[1]] = last
    data, starts = row_picture([], [0.4, 0.4, 0.4], inks=inks)
    paper = np.asarray(Image.open(io.BytesIO(data)).convert("L")).copy()
    x = starts[-1] + last.shape[1] - 2  # through the right edge of the 6's ink
    cv2.line(paper, (x, round(0.2 * HEIGHT)), (x + 3, round(2.8 * HEIGHT)), 40, 3)
    buffer = io.BytesIO()
    Image.fromarray(paper).save(buffer, "PNG")
    assert predictor.predict(buffer.getvalue()).digits == number


def test_a_pale_digit_broken_in_two_halves_is_found(sample, clean_right, predictor):
    """A pale 0 at the end of a row whose loop broke across its middle: each half is too short for a
    digit; one above the other, sharing their columns, they are joined again."""
    indices, number = pick(clean_right, "2030")
    inks = [ink(sample.x_test[i]) for i in indices]
    inks[-1] = inks[-1] * 0.3  # a pale pen
    inks[-1][round(0.38 * HEIGHT) : round(0.62 * HEIGHT)] = 0  # a blank band across the middle
    data, _ = row_picture([], [0.4, 0.4, 0.4], inks=inks)
    found = read_digits(data)
    assert len(found.readings) == 4
    assert found.readings[-1].box[3] - found.readings[-1].box[1] >= 0.8 * HEIGHT  # both halves


def test_a_pale_digit_inside_a_row_is_read(sample, clean_right, predictor):
    """A digit in a paler pen between two dark ones leaves a gap in the row; the gap is searched."""
    indices, number = pick(clean_right, "2036")
    inks = [ink(sample.x_test[i]) for i in indices]
    inks[1] = inks[1] * 0.3  # a pale pen: less than the picture's threshold (0.4 of the darkest ink)
    data, _ = row_picture([], [0.15, 0.15, 0.4], inks=inks)  # the 2 and the 3: one row without the 0
    assert predictor.predict(data).digits == number


@pytest.mark.parametrize("digit", ["5", "7"])
def test_a_one_leaning_on_its_neighbour_is_cut_from_it(sample, clean_right, predictor, digit):
    """A slanted 1 whose foot reaches under its neighbour shares columns with it (no column parts them)
    but not a stroke: the two are cut between their strokes, since one is a straight stroke."""
    (index,), _ = pick(clean_right, digit)
    left = ink(sample.x_test[index])
    lean, gap = round(0.3 * HEIGHT), 6
    pair = np.zeros((HEIGHT, left.shape[1] + lean + gap + 8), np.float32)
    pair[:, : left.shape[1]] = left
    x = left.shape[1] + gap
    cv2.line(pair, (x - lean // 2, HEIGHT - 4), (x + lean // 2, 3), 1.0, 7)  # a "1" leaning right
    data, _ = row_picture([], [], inks=[pair])
    assert predictor.predict(data).digits == digit + "1"


def test_a_zero_cut_at_a_gap_in_its_stroke_is_read_whole(sample, clean_right, predictor):
    """A wide 0 whose top stroke breaks off near its right end is cut there by the row step (that
    column crosses one stroke); the sliver is no digit by the card's rule, its join with the rest is."""
    (nine,), _ = pick(clean_right, "9")
    zero = np.zeros((HEIGHT, round(HEIGHT * 1.4)), np.float32)
    cv2.ellipse(zero, (zero.shape[1] // 2, HEIGHT // 2), (zero.shape[1] // 2 - 6, HEIGHT // 2 - 6), 0, 0, 360, 1.0, 9)
    x = round(0.7 * zero.shape[1])
    zero[: HEIGHT // 2, x - 3 : x + 3] = 0  # a gap in the top stroke
    data, _ = row_picture([], [0.4], inks=[ink(sample.x_test[nine]), zero])
    found = read_digits(data)
    assert len(found.readings) == 3 and [(a.start, a.stop) for a in found.alternatives] == [(1, 3)]
    read = predictor.predict(data)
    assert read.digits == "90"
    assert read.readings[1].box == found.alternatives[0].readings[0].box


def test_two_digits_left_as_one_piece_are_read_as_two_when_the_model_cannot_read_it(sample, clean_right, predictor):
    """A 7 written much smaller than the 3 beside it is too short to be cut from it (a 9's tail is as
    short); the model reads the pair as no digit at all (near uniform), its two halves as 3 and 7."""
    (three, seven), _ = pick(clean_right, "37")
    small = ink(sample.x_test[seven], round(0.6 * HEIGHT))
    short = np.zeros((HEIGHT, small.shape[1]), np.float32)
    top = (HEIGHT - small.shape[0]) // 2
    short[top : top + small.shape[0]] = small
    data, _ = row_picture([], [0.4, 0.1], inks=[ink(sample.x_test[three]), ink(sample.x_test[three]), short])
    assert len(read_digits(data).readings) == 2
    assert predictor.predict(data).digits == "337"


def test_a_doubtful_digit_is_not_read_as_two(sample, clean_right, predictor):
    """A 5 cut from the 2 it overlaps is doubtful (the 2's tail in its picture) but read as a 5: a
    piece the model reads as some digit is never cut in two, even when both halves pass the rule."""
    indices, number = pick(clean_right, "325")
    data, _ = row_picture([], [0.4, -0.2], inks=[ink(sample.x_test[i]) for i in indices])
    assert predictor.predict(data).digits == number


def test_a_small_row_on_a_big_page_is_read_again_close_up(sample, clean_right, predictor):
    """Digits a tenth of the picture's short side (a dozen pixels in the working image) are found and
    cut again in a finer view of the row alone; their boxes are still in the picture's pixels."""
    indices, number = pick(clean_right, "4097")
    inks = [ink(sample.x_test[i]) for i in indices]
    page = np.zeros((1800, 2400), np.float32)
    x, starts = 900, []
    for a in inks:
        starts.append(x)
        page[1000 : 1000 + HEIGHT, x : x + a.shape[1]] = a
        x += a.shape[1] + HEIGHT // 3
    buffer = io.BytesIO()
    Image.fromarray((235 - page * 210).astype(np.uint8)).save(buffer, "JPEG", quality=90)
    picture = decode_picture(buffer.getvalue())
    ink_map, _, groups = find_strokes(picture.gray)
    assert _zoomed(picture, digits_in_row(groups, ink_map)) is not None  # the close-up read it
    result = predictor.predict(buffer.getvalue())
    assert result.digits == number
    assert all(
        abs(r.box[0] - s) <= 10 and abs(r.box[1] - 1000) <= 10 for r, s in zip(result.readings, starts, strict=True)
    )


def test_a_taller_neighbour_beside_the_first_digit_found_joins_its_row(sample, clean_right, ones):
    """The row starts at the group with the most ink, here a short digit in a thick pen; its taller
    neighbour sits higher (a row written with a slope), its centre further off the first's than the
    row's tolerance, but level with it over most of the shorter one's height."""
    short = cv2.dilate(ink(sample.x_test[clean_right[4][0]], 60), np.ones((7, 7), np.uint8))
    tall = ink(sample.x_test[ones[0]], 100)
    canvas = np.zeros((240, 120 + tall.shape[1] + short.shape[1] + 60), np.float32)
    canvas[30:130, 60 : 60 + tall.shape[1]] = tall  # centre at y 80
    x = 60 + tall.shape[1] + 40  # 0.4 of the tall one's height apart: two digits, not one's pieces
    canvas[85:145, x : x + short.shape[1]] = short  # centre at y 115: 35 px lower, 0.58 of its height
    picture = (235 - canvas * 210).astype(np.uint8)
    _, _, groups = find_strokes(picture)
    assert groups[0].box[0] >= x - 4  # the short digit is found first
    digits = digits_in_row(groups, find_strokes(picture)[0])
    assert [d.box[0] < x for d in digits] == [True, False]


def test_a_flat_four_cut_in_two_is_read_whole(sample, clean_right, predictor):
    """A 4 written flat, 1.7 times as wide as tall, is cut in two by the row step (wider than one digit
    is taken to be); the two pieces together are no wider than a digit may be (``row.JOIN_WIDTH``), so
    they are read whole too, and the model, which reads the whole as a 4, takes it."""
    indices, _ = pick(clean_right, "947")
    inks = [ink(sample.x_test[i]) for i in indices]
    inks[1] = cv2.resize(inks[1], (round(1.7 * HEIGHT), HEIGHT), interpolation=cv2.INTER_CUBIC)
    data, _ = row_picture([], [0.4, 0.4], inks=inks)
    assert len(read_digits(data).readings) == 4  # the cut
    assert predictor.predict(data).digits == "947"


def test_a_number_written_across_the_frame_is_not_taken_for_its_edge(sample, clean_right, predictor):
    """Four digits across most of the frame's width are one group as wide as the frame; clear of the
    frame's edges and made of several strokes, it is a number, not the frame's edge: it is read, not
    a sliver of shadow beside it."""
    indices, number = pick(clean_right, "2036")
    inks = [ink(sample.x_test[i]) for i in indices]
    gap = round(0.1 * HEIGHT)
    width = sum(a.shape[1] for a in inks) + gap * (len(inks) - 1)
    canvas = np.zeros((HEIGHT * 2, round(width / 0.8)), np.float32)  # the row spans 0.8 of the width
    x = round(0.08 * canvas.shape[1])
    for a in inks:
        canvas[HEIGHT // 2 : HEIGHT // 2 + HEIGHT, x : x + a.shape[1]] = a
        x += a.shape[1] + gap
    canvas[HEIGHT // 2 : HEIGHT // 2 + HEIGHT // 2, -8:-5] = 1.0  # a sliver of a table's rim, near the edge
    buffer = io.BytesIO()
    Image.fromarray((235 - canvas * 210).astype(np.uint8)).convert("RGB").save(buffer, "JPEG", quality=90)
    assert predictor.predict(buffer.getvalue()).digits == number


def test_pieces_all_read_as_their_join_one_doubtfully_are_one_digit():
    """A flat 2 cut in two reads as a sure 2 and the doubtful "2" of its tail; joined, a sure 2. Two
    pieces both read surely stay two digits unless the join is surer still; pieces of other labels too."""
    from mnist_edge.runtime.predictor import _takes, to_prediction

    def read(label: int, confidence: float):
        probs = np.full(10, (1 - confidence) / 9, np.float32)
        probs[label] = confidence
        return to_prediction(probs)

    assert _takes([read(2, 1.0), read(2, 0.46)], [read(2, 0.99)], 5)
    assert not _takes([read(2, 1.0), read(2, 0.9)], [read(2, 0.99)], 5)  # two 2s
    assert not _takes([read(5, 1.0), read(1, 0.46)], [read(5, 0.99)], 5)  # a 5 and a doubtful 1
    assert _takes([read(4, 0.6), read(1, 0.5)], [read(4, 0.99)], 5)  # surer than each: as before


def test_two_digits_written_close_enough_to_be_grouped_as_one_are_read_as_two(sample, clean_right, predictor):
    """A 7 and a 4 written with no gap between their boxes are grouped as one digit's broken strokes;
    the model reads the group as no digit. Cut between its strokes (no stroke crosses the cut), each
    half reads surely: the picture is "74", not "not a digit"."""
    indices, number = pick(clean_right, "74")
    data, _ = row_picture([sample.x_test[i] for i in indices], [0.0])
    found = read_digits(data)
    assert len(found.readings) == 1 and [len(a.readings) for a in found.alternatives] == [2]
    assert predictor.predict(data).digits == number


def test_a_lone_mark_is_cut_only_between_its_strokes():
    """An ∞ is one stroke across the middle: cutting it gives a 9 and a 6 the model reads surely, so it
    is never cut. Two marks side by side are cut between them."""
    from mnist_edge.runtime.row import between_strokes, halves

    def lone_group(draw) -> tuple:
        paper = np.full((120, 200), 235, np.uint8)
        draw(paper)
        ink_map, _, groups = find_strokes(paper)
        return groups[0], ink_map

    def infinity(paper):
        cv2.circle(paper, (75, 60), 25, 20, 6)
        cv2.circle(paper, (125, 60), 25, 20, 6)

    def two_marks(paper):
        cv2.circle(paper, (72, 60), 25, 20, 6)
        cv2.line(paper, (112, 35), (112, 85), 20, 6)

    group, ink_map = lone_group(infinity)
    assert len(group.contours) == 1 and not any(between_strokes(group, two) for two in halves(group, ink_map))
    group, ink_map = lone_group(two_marks)
    assert len(group.contours) == 2 and any(between_strokes(group, two) for two in halves(group, ink_map))


def test_a_sure_piece_reaching_into_an_unreadable_one_is_its_other_half(predictor):
    """A 0 cut into an arc the model cannot read and a "1" reaching into the arc's columns: the join, a
    sure 0, takes the "1" in. A sure digit beside an unreadable piece, sharing no column, is kept."""
    from mnist_edge.runtime.predictor import _takes, to_prediction
    from mnist_edge.runtime.preprocess import Reading

    def read(box, label=None):
        probs = np.full(10, 0.1, np.float32)  # no digit, by the card's rule
        if label is not None:
            probs[:] = 0.001
            probs[label] = 0.991
        return to_prediction(probs, Reading(np.zeros(784, np.float32), box), predictor.trust)

    arc, zero = read((472, 1331, 524, 1414)), read((472, 1331, 549, 1421), 0)
    assert arc.label is None and zero.label == 0
    assert _takes([arc, read((517, 1335, 549, 1421), 1)], [zero], 3)
    assert not _takes([arc, read((530, 1335, 560, 1421), 1)], [zero], 3)  # side by side: a 1


def test_two_digits_written_into_each_other_are_read_as_two(sample, clean_right, predictor):
    """Every pair of digits but 1s (81) written 0.05 heights into each other: where they share
    columns, no column parts them, but a path bending around their strokes does (``row.halves``),
    and a doubtful digit whose halves both read surely is two (``predictor._takes``). 44 of 81
    were read before, 56 with the bending cut (75 with ``predictor.third_look`` too)."""
    assert pairs_read(sample, clean_right, predictor, -0.05) >= 52


def pairs_read(sample, clean_right, predictor, gap: float) -> int:
    """How many of the pairs of sample digits but 1s (81), each written ``gap`` heights apart, read right."""
    right = 0
    for a in clean_right:
        for b in clean_right:
            indices, number = pick(clean_right, f"{a}{b}")
            data, _ = row_picture([sample.x_test[i] for i in indices], [gap])
            right += predictor.predict(data).digits == number
    return right


def test_a_doubtful_digit_whose_halves_both_read_surely_is_two():
    from mnist_edge.runtime.predictor import DOUBTFUL_WHOLE, _takes, to_prediction

    def read(label: int, confidence: float):
        probs = np.full(10, (1 - confidence) / 9, np.float32)
        probs[label] = confidence
        return to_prediction(probs)

    sure, doubt = DOUBTFUL_WHOLE + 0.05, DOUBTFUL_WHOLE - 0.2
    assert _takes([read(8, doubt)], [read(4, sure), read(6, sure)], 3)
    assert not _takes([read(8, sure)], [read(4, sure), read(6, sure)], 3)  # a sure digit stays one
    assert not _takes([read(8, doubt)], [read(4, sure), read(6, doubt)], 3)  # both halves sure


def test_a_percent_sign_is_not_cut_into_two_digits(predictor, monkeypatch):
    """A path weaves between a %'s slash and its lower nought, so it crosses no stroke, and its halves
    read "4" and "0"; but they share most of their columns, which two digits side by side do not
    (``row.LONE_OVERLAP``)."""
    from mnist_edge.runtime import row

    paper = np.full((200, 280), 235, np.uint8)
    cv2.ellipse(paper, (100, 75), (20, 34), 0, 0, 360, 20, 9)
    cv2.ellipse(paper, (180, 125), (20, 34), 0, 0, 360, 20, 9)
    cv2.line(paper, (180, 41), (100, 159), 20, 9)
    assert predictor.predict(paper).digits == ""
    monkeypatch.setattr(row, "LONE_OVERLAP", 10.0)
    assert predictor.predict(paper).digits == "40"


def test_digits_written_into_each_other_in_a_number_are_read(sample, clean_right, predictor):
    """40 numbers of 3–5 digits (no 1s) written 0.05 and 0.02 heights into each other. Where the row
    step and the reader's local choices fail, each run of touching pieces is read again by trying
    every cut (``segment``, ``predictor.third_look``). 58 of 80 were read before, 73 now."""
    rng = np.random.default_rng(7)
    numbers = [
        "".join(str(rng.choice([0, 2, 3, 4, 5, 6, 7, 8, 9])) for _ in range(int(rng.integers(3, 6)))) for _ in range(40)
    ]
    right = 0
    for gap in (-0.05, -0.02):
        for number in numbers:
            indices, _ = pick(clean_right, number)
            data, _ = row_picture([sample.x_test[i] for i in indices], [gap] * (len(number) - 1))
            right += predictor.predict(data).digits == number
    assert right >= 68


def test_two_digits_written_deep_into_each_other_alone_are_read_by_trying_every_cut(sample, clean_right, predictor):
    """The 81 pairs of sample digits but 1s written 0.1 heights into each other, each pair the picture's
    only piece: no single cut in two reads them, trying every cut does (``segment``,
    ``predictor.third_look``, both digits read at least ``LONE_PAIR_SURE``). 38 were read before, 60 now."""
    assert pairs_read(sample, clean_right, predictor, -0.1) >= 55


def test_a_cut_reading_that_is_no_number_leaves_the_first_reading(sample, clean_right, predictor, monkeypatch):
    """A number read doubtfully, tried at every cut, where the cut reading is judged no number (its
    confidence None): the first reading stands (this comparison raised TypeError once)."""
    from mnist_edge.runtime import predictor as predictor_module
    from mnist_edge.runtime.preprocess import Digits, Reading, mnist_tensor
    from mnist_edge.runtime.segment import Lattice

    indices, _ = pick(clean_right, "23")
    readings = tuple(
        Reading(mnist_tensor(sample.x_test[i]), (30 * k, 0, 30 * k + 28, 28)) for k, i in enumerate(indices)
    )
    found = Digits(readings, lattices=lambda: (Lattice(0, 2, 3, ((0, 1), (1, 2)), readings),))
    doubtful = predictor_module.to_number_prediction(
        predictor.probabilities(np.stack([r.tensor for r in readings])), found
    )
    doubtful = dataclasses.replace(doubtful, confidence=0.5)
    rejected = predictor_module.Prediction(None, None, None, (0, 0, 58, 28), None, "", "not a digit", ())
    monkeypatch.setattr(predictor_module, "to_number_prediction", lambda *a, **k: rejected)
    assert predictor_module.third_look(predictor, found, doubtful) is doubtful


def test_marks_alone_wider_than_tall_stay_no_digit(predictor):
    """An ∞, two rings touching, a zigzag and a wave, each a picture's only piece and wider than tall:
    tried at every cut, none reads as two digits surely enough (``LONE_PAIR_SURE``)."""
    drawings = {
        "∞": lambda q: (cv2.circle(q, (100, 80), 25, 20, 6), cv2.circle(q, (150, 80), 25, 20, 6)),
        "oo": lambda q: (cv2.circle(q, (100, 80), 30, 20, 7), cv2.circle(q, (158, 80), 30, 20, 7)),
        "zigzag": lambda q: cv2.polylines(
            q, [np.array([[40, 120], [80, 40], [120, 120], [160, 40], [200, 120]], np.int32)], False, 20, 7
        ),
        "wave": lambda q: cv2.polylines(
            q, [np.array([[40 + i * 4, 80 + int(30 * np.sin(i / 4))] for i in range(45)], np.int32)], False, 20, 6
        ),
    }
    for name, draw in drawings.items():
        paper = np.full((160, 260), 235, np.uint8)
        draw(paper)
        assert predictor.predict(paper).digits == "", name


CABIN_BOLD = [f for f in training_fonts() if f.name == "Cabin-Bold.otf"]


@pytest.mark.skipif(not CABIN_BOLD, reason="training font Cabin-Bold not installed (make fonts)")
def test_a_word_written_tight_is_not_read_by_trying_every_cut(predictor, monkeypatch):
    """ "wow" with its letters touching: a w's four strokes cut apart read as sure 1s, so trying every
    cut reads "111101111". Two 1s side by side in a run are the legs of a letter (``_letter_legs``),
    and a row whose pieces mostly do not read as digits is no number (``SEGMENTS_READ``)."""
    from PIL import ImageDraw, ImageFont

    from mnist_edge.runtime import predictor as module

    face = ImageFont.truetype(str(CABIN_BOLD[0]), 110)
    picture = Image.new("L", (360, 220), 235)
    draw, x = ImageDraw.Draw(picture), 40
    for letter in "wow":
        draw.text((x, 40), letter, fill=20, font=face)
        x += int(face.getlength(letter) * 0.85)
    assert predictor.predict(picture).digits == ""
    monkeypatch.setattr(module, "_letter_legs", lambda labels: False)
    monkeypatch.setattr(module, "SEGMENTS_READ", 0.0)
    assert predictor.predict(picture).digits == "111101111"


def test_the_surest_chain_of_stretches_is_taken():
    """Cuts 0–3: stretches (0, 1), (1, 3), (0, 2), (2, 3), (0, 3). The chain with the highest total
    log-probability from cut 0 to cut 3 wins; a stretch that is no digit (-inf) never joins a chain."""
    from mnist_edge.runtime.segment import best_chain

    spans = [(0, 1), (1, 3), (0, 2), (2, 3), (0, 3)]
    assert best_chain(4, spans, [-0.1, -0.1, -0.01, -0.01, -1.0]) == [2, 3]
    assert best_chain(4, spans, [-0.1, -0.1, -0.01, -math.inf, -1.0]) == [0, 1]
    assert best_chain(4, spans[:4], [-math.inf, -0.1, -0.01, -math.inf]) is None


def test_a_lone_piece_is_tried_at_every_cut_only_when_two_digits_wide():
    """A picture's only piece is a run from 1.2 to 2.6 heights wide: narrower is one digit, wider is
    no pair (a long scribble, whose every cut would cost a crop). Pieces of a row whose boxes touch
    are a run; a gap ends it."""
    from mnist_edge.runtime.locate import Strokes
    from mnist_edge.runtime.segment import touching_runs

    def piece(x0: int, x1: int) -> Strokes:
        return Strokes((x0, 0, x1, 100), (), 1.0)

    assert touching_runs([piece(0, 100)]) == []
    assert touching_runs([piece(0, 150)]) == [(0, 1)]
    assert touching_runs([piece(0, 300)]) == []
    assert touching_runs([piece(0, 60), piece(60, 130), piece(140, 200)]) == [(0, 2)]
