"""Calibrated confidence and "not a digit" (issue 13): the math, the card fields, the runtime, the gate."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from conftest import run_cli
from mnist_edge.errors import ModelError
from mnist_edge.export import parity
from mnist_edge.export.calibrate import auroc, decisions, ece, fit_temperature, fit_trust, nll, synthetic_non_digits
from mnist_edge.runtime import Predictor
from mnist_edge.runtime.card import validate_card
from mnist_edge.runtime.integrity import fields, seal, verify
from mnist_edge.runtime.predictor import shipped_model_path
from mnist_edge.runtime.records import format_line, prediction_record
from mnist_edge.runtime.trust import NOT_A_DIGIT, Trust, structure, temperature_scale
from mnist_edge.training.data import to_model_input

pytestmark = pytest.mark.runtime


# --- the math --------------------------------------------------------------------------------


def test_ece_on_known_inputs():
    # bin (0.8, 0.867]: confidence 0.85 twice, one right → |0.5 − 0.85|; bin (0.933, 1]: 0.95 twice, both right
    probs = np.array([[0.85, 0.15], [0.85, 0.15], [0.05, 0.95], [0.05, 0.95]])
    labels = np.array([0, 1, 1, 1])
    assert ece(probs, labels) == pytest.approx(0.5 * 0.35 + 0.5 * 0.05)
    assert ece(np.array([[1.0, 0.0]]), np.array([0])) == 0.0


def test_temperature_fit_recovers_the_temperature_and_lowers_nll():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 4, (4000, 10))
    true = np.exp(logits / 2.5) / np.exp(logits / 2.5).sum(1, keepdims=True)  # the honest probabilities
    labels = np.array([rng.choice(10, p=p) for p in true])
    overconfident = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    t = fit_temperature(overconfident, labels)
    assert t == pytest.approx(2.5, rel=0.1)
    assert nll(temperature_scale(overconfident, t), labels) < nll(overconfident, labels) - 0.1
    assert ece(temperature_scale(overconfident, t), labels) < ece(overconfident, labels) / 3


def test_auroc():
    assert auroc(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 1.0
    assert auroc(np.array([1.0, 2.0]), np.array([3.0, 4.0])) == 0.0
    assert auroc(np.array([1.0, 3.0]), np.array([1.0, 2.0])) == pytest.approx(0.625)  # (0.5 + 0 + 1 + 1) / 4


def test_single_row_and_batch_calibration_agree():
    p = np.random.default_rng(1).dirichlet(np.ones(10), 4).astype(np.float32)
    trust = Trust(temperature=1.7)
    assert np.allclose(trust.calibrate(p[2]), trust.calibrate(p)[2], atol=1e-7)
    assert Trust().calibrate(p) is p  # T = 1 (older cards): untouched


def test_structure_counts_strokes_and_loops(sample_dir):
    from mnist_edge.training.data import load_mnist

    x = to_model_input(load_mnist(sample_dir).x_test)
    counts = np.array([structure(v) for v in x])
    assert counts[:, 0].max() <= 2 and counts[:, 1].max() <= 2  # real digits: one stroke (rarely two), ≤ 2 loops
    grid = np.zeros((28, 28), np.float32)
    grid[[4, 5, 12, 13, 20, 21], 4:24] = 1
    grid[4:22, [4, 5, 12, 13, 20, 21]] = 1
    assert structure(grid) == (1, 4, 0)


def face() -> np.ndarray:
    """A drawn face: a ring with two eyes and a mouth inside it."""
    import cv2

    picture = np.zeros((28, 28), np.float32)
    cv2.circle(picture, (14, 14), 10, 1.0, 2)
    picture[10:12, 10:12] = picture[10:12, 16:18] = 1  # eyes: 4 pixels each, under a tenth of the ring
    picture[18, 10:18] = 1
    return picture


def test_ink_inside_a_loop_is_counted(sample_dir):
    from mnist_edge.training.data import load_mnist

    x = to_model_input(load_mnist(sample_dir).x_test)
    assert max(structure(v).islands for v in x) == 0  # no digit has a stroke inside its loop
    assert structure(face()) == (1, 1, 3)  # the eyes and mouth are islands, though too small to be strokes
    assert structure(face(), max_strokes=2, max_loops=3, max_islands=0).islands == 3  # the bound sends it to the count
    speck = face()
    speck[10:12, 10:12] = speck[10:12, 16:18] = 0
    speck[18, 10:18] = 0
    speck[14, 14] = 1  # one pixel inside the ring: a speck, not an island
    assert structure(speck).islands == 0


def test_the_shape_rules_reject_what_no_digit_looks_like():
    trust = Trust(max_strokes=2, max_loops=3, max_islands=1)  # one island: a dotted zero
    ring = face()
    ring[10:12, 10:12] = ring[10:12, 16:18] = 0
    ring[18, 10:18] = 0
    sure = np.eye(10)[0]
    assert not trust.rejects(sure, ring)  # a 0
    assert trust.rejects(sure, face())  # the same ring with a face inside
    dotted = ring.copy()
    dotted[13:16, 13:16] = 1
    assert structure(dotted).islands == 1 and not trust.rejects(sure, dotted)  # a dotted zero is a zero
    assert not Trust(max_strokes=2, max_loops=3).rejects(sure, face())  # the island rule is what turns it away


# --- a model with the card fields -------------------------------------------------------------


@pytest.fixture(scope="module")
def trusted(tmp_path_factory, mnist):
    """The shipped int8 model with calibration and rejection fitted on 3,000 training images (it saw them)."""
    data = shipped_model_path().read_bytes()
    card = verify(data, "shipped")
    x, y = to_model_input(mnist.x_train[:3000]), mnist.y_train[:3000]
    probabilities = Predictor(shipped_model_path(quantized=False)).probabilities(x)
    softened = temperature_scale(probabilities, 2.0)  # under-confident, as a model trained with label smoothing is
    fields_ = fit_trust(softened, y, x, "the first 3000 training images (test)")
    for key in ("graph_sha256", "content_sha256", "calibration", "rejection"):
        card.pop(key, None)
    folder = tmp_path_factory.mktemp("trusted")
    (folder / "older.int8.onnx").write_bytes(seal(data[: fields(data)[-1].start], card))  # a card without them
    path = folder / "model.int8.onnx"
    path.write_bytes(seal(data[: fields(data)[-1].start], {**card, **fields_}))
    return path, fields_


def test_card_round_trip_and_older_cards(trusted):
    path, fields_ = trusted
    predictor = Predictor(path, verify=True)
    assert predictor.card["calibration"] == fields_["calibration"]
    assert predictor.trust == Trust(
        fields_["calibration"]["temperature"],
        fields_["rejection"]["threshold"],
        fields_["rejection"]["max_strokes"],
        fields_["rejection"]["max_loops"],
        fields_["rejection"]["max_islands"],
    )
    assert fields_["rejection"]["max_islands"] == 1
    assert fields_["calibration"]["temperature"] < 1  # the softened model is under-confident
    assert fields_["calibration"]["ece_after"] < fields_["calibration"]["ece_before"]
    assert Predictor(path.with_name("older.int8.onnx")).trust == Trust()  # a card without the fields: as before


@pytest.mark.parametrize(
    "patch",
    [
        {"calibration": {"temperature": -1.0}},
        {"calibration": {"temperature": "2"}},
        {"calibration": [1.5]},
        {"rejection": {"threshold": True}},
        {"rejection": {"max_loops": 1.5}},
        {"rejection": {"max_islands": -1}},
        {"rejection": {"max_islands": "1"}},
    ],
)
def test_bad_trust_fields_are_refused(patch):
    card = verify(shipped_model_path().read_bytes(), "shipped")
    with pytest.raises(ModelError, match="calibration|rejection"):
        validate_card({**card, **patch}, "m.onnx")


def test_runtime_applies_temperature_and_threshold(trusted, mnist):
    path, fields_ = trusted
    predictor, plain = Predictor(path), Predictor()
    digits = mnist.x_test[:200]
    answers = [predictor.predict(d) for d in digits]
    raw = plain.probabilities(to_model_input(digits))
    calibrated = temperature_scale(raw, fields_["calibration"]["temperature"])
    accepted = [i for i, a in enumerate(answers) if a.label is not None]
    assert len(accepted) >= 196  # at most 2 % of real test digits rejected
    for i in accepted[:20]:
        assert np.allclose(answers[i].probabilities, calibrated[i], atol=1e-6)
        assert answers[i].digits == str(answers[i].label) and answers[i].reason is None
    entropy = (calibrated * np.log(np.clip(calibrated, 1e-45, 1))).sum(1)
    for i, a in enumerate(answers):  # rejected exactly where the card's rule says
        pixels = to_model_input(digits[i : i + 1])[0]
        shape, limits = structure(pixels), fields_["rejection"]
        rule = entropy[i] < limits["threshold"]
        rule = rule or shape.strokes > limits["max_strokes"] or shape.loops > limits["max_loops"]
        rule = rule or shape.islands > limits["max_islands"]
        assert (a.label is None) == rule


def _grid_picture() -> Image.Image:
    picture = Image.new("L", (240, 240), 235)
    draw = ImageDraw.Draw(picture)
    for k in (60, 100, 140, 180):
        draw.line([(k, 60), (k, 180)], fill=20, width=5)
        draw.line([(60, k), (180, k)], fill=20, width=5)
    return picture


def test_not_a_digit_record_and_line(trusted):
    path, _ = trusted
    answer = Predictor(path).predict(_grid_picture())
    assert (answer.label, answer.confidence, answer.digits, answer.reason) == (None, None, "", NOT_A_DIGIT)
    record = prediction_record("grid.png", answer, top_k=3)
    assert record["label"] is None and record["digits"] == "" and record["reason"] == NOT_A_DIGIT
    assert len(record["probabilities"]) == 10 and record["box"] is not None
    assert format_line("grid.png", answer) == "grid.png: not a digit"


def test_cli_answers_not_a_digit_with_exit_0(tmp_path, mnist):
    path = shipped_model_path()  # the shipped cards carry the fitted rule
    _grid_picture().save(tmp_path / "grid.png")
    net = Image.new("L", (200, 200), 230)  # a texture: a patch of fine mesh
    draw = ImageDraw.Draw(net)
    for k in range(50, 151, 10):
        draw.line([(k, 50), (k, 150)], fill=40, width=2)
        draw.line([(50, k), (150, k)], fill=40, width=2)
    net.save(tmp_path / "mesh.png")
    Image.fromarray(mnist.x_test[0]).save(tmp_path / "digit.png")
    run = run_cli("predict", "--json", "--model", path, tmp_path)
    assert run.returncode == 0, run.stderr
    records = {r["path"].rsplit("/", 1)[-1]: r for r in map(json.loads, run.stdout.splitlines())}
    assert records["grid.png"]["reason"] == NOT_A_DIGIT and records["grid.png"]["label"] is None
    assert records["mesh.png"]["reason"] == NOT_A_DIGIT
    assert records["digit.png"]["label"] == int(mnist.y_test[0]) and records["digit.png"]["reason"] is None


# --- the gate ----------------------------------------------------------------------------------


def test_gate_fails_when_int8_decisions_differ(trusted, mnist, monkeypatch, tmp_path):
    path, fields_ = trusted
    trust = Trust.from_card(fields_)
    x, y = to_model_input(mnist.x_test[:1000]), mnist.y_test[:1000]
    twin = tmp_path / "model.int8.onnx"  # an "int8" model that computes exactly fp32's function
    twin.write_bytes(shipped_model_path(quantized=False).read_bytes())
    models = {parity.FP32: shipped_model_path(quantized=False), parity.INT8: twin}
    report = {"models": {}, "runtimes": {}, "trust": parity.trust_figures(trust, models, x, y)}
    assert parity.Gate().failures(report) == []

    real = parity.onnx_runner

    def doctored(session):  # the "int8" model answers the next digit on 2 % of inputs
        run = real(session)
        if "int8" not in str(session._model_path):
            return run
        return lambda batch: np.where(
            np.arange(len(batch))[:, None] % 50 == 0, np.roll(run(batch), 1, axis=1), run(batch)
        )

    monkeypatch.setattr(parity, "onnx_runner", doctored)
    monkeypatch.setattr(parity, "onnx_session", lambda p: _Named(real_session(p), p))
    report["trust"] = parity.trust_figures(trust, models, x, y)
    failures = parity.Gate().failures(report)
    assert any("digit/not-a-digit decision" in f for f in failures), failures
    assert "✗ onnx int8" in "\n".join(parity._trust_lines(report["trust"], {}))


real_session = parity.onnx_session


class _Named:
    """An onnxruntime session that remembers its file (to doctor one model's output)."""

    def __init__(self, session, path):
        self._session, self._model_path = session, path

    def __getattr__(self, name):
        return getattr(self._session, name)


def test_synthetic_non_digits_are_rejected_more_than_digits(trusted, mnist):
    path, fields_ = trusted
    trust = Trust.from_card(fields_)
    predictor = Predictor(path)
    x = to_model_input(mnist.x_test[:1000])
    others = synthetic_non_digits(x, 300)
    digit_rejects = (decisions(trust, predictor.probabilities(x), x) < 0).mean()
    other_rejects = (decisions(trust, predictor.probabilities(others), others) < 0).mean()
    assert digit_rejects <= 0.02 and other_rejects >= 0.3


def test_a_number_is_turned_away_only_when_half_its_digits_fail_or_one_is_nearly_uniform_in_a_short_row():
    trust = Trust(temperature=1.0, threshold=-1.0)
    sure, doubtful = [0.97] + [0.03 / 9] * 9, [0.5, 0.5] + [0.0] * 8
    uniform = [0.1] * 10
    assert not trust.rejects_number([sure, sure, doubtful, sure], [False, False, True, False])
    assert trust.rejects_number([sure, doubtful, doubtful, sure], [False, True, True, False])  # half
    assert trust.rejects_number([sure, sure, uniform, sure], [False, False, True, False])  # a letter
    # one unreadable mark among five sure digits is a damaged digit; among doubtful ones, or two, a word
    assert not trust.rejects_number([sure, sure, sure, sure, uniform], [False] * 4 + [True])
    assert trust.rejects_number([sure, sure, doubtful, sure, uniform], [False, False, True, False, True])
    assert trust.rejects_number([sure, sure, [0.9] + [0.1 / 9] * 9, sure, uniform], [False] * 4 + [True])
    assert trust.rejects_number([sure, uniform, sure, sure, sure, uniform], [False, True, False, False, False, True])
    assert Trust(max_strokes=2).rejects_number([sure, sure, sure], [False, True, False])  # older rule: any


def test_a_doubted_digit_inside_a_number_is_read_as_its_most_likely_label():
    from mnist_edge.runtime.predictor import to_number_prediction
    from mnist_edge.runtime.preprocess import Digits, Reading

    trust = Trust(temperature=1.0, threshold=-1.0)
    blank = np.zeros(784, np.float32)
    found = Digits(tuple(Reading(blank, (10 * i, 0, 10 * i + 8, 12)) for i in range(4)))
    sure = lambda d: [0.97 if k == d else 0.03 / 9 for k in range(10)]  # noqa: E731
    doubtful = [0.0] * 10
    doubtful[3], doubtful[8] = 0.55, 0.45
    read = to_number_prediction(np.array([sure(2), sure(0), doubtful, sure(6)], np.float32), found, trust)
    assert read.digits == "2036" and read.reason is None and read.readings[2].label == 3
    assert read.confidence == pytest.approx(0.55)
    letters = to_number_prediction(np.array([sure(2), [0.1] * 10, sure(1), sure(6)], np.float32), found, trust)
    assert letters.digits == "" and letters.reason == NOT_A_DIGIT


def test_a_row_takes_another_reading_only_for_a_piece_that_is_not_a_digit():
    """``to_number_prediction`` with alternatives: a join replaces a rejected piece and its neighbour
    when the join is accepted and keeps the neighbour's label (or is surer than it); a piece is read
    as two only when the model cannot read it at all."""
    from mnist_edge.runtime.predictor import to_number_prediction
    from mnist_edge.runtime.preprocess import Digits, Reading, Regrouping

    trust = Trust(temperature=1.0, threshold=-1.0)
    blank = np.zeros(784, np.float32)
    boxes = [(0, 0, 8, 12), (10, 0, 14, 12), (20, 0, 28, 12)]
    readings = tuple(Reading(blank, box) for box in boxes)
    sure = lambda d, p=0.97: [p if k == d else (1 - p) / 9 for k in range(10)]  # noqa: E731
    doubtful, uniform = [0.3, 0.3, 0.2, 0.2] + [0.0] * 6, [0.1] * 10
    joined = Regrouping(1, 3, (Reading(blank, (10, 0, 28, 12)),))
    found = Digits(readings, alternatives=(joined,))
    # the middle piece is no digit; joined with the 0 beside it, it is a sure 0
    read = to_number_prediction(np.array([sure(4), doubtful, sure(0, 0.8), sure(0)], np.float32), found, trust)
    assert read.digits == "40" and read.readings[1].box == (10, 0, 28, 12)
    # …a sure 0, changed into a 9 by the join, is not the doubtful piece's other half
    read = to_number_prediction(np.array([sure(4), doubtful, sure(0, 0.99), sure(9, 0.9)], np.float32), found, trust)
    assert read.digits == "400"
    # a row that reads as digits takes a join only when it is surer than each of its pieces
    read = to_number_prediction(
        np.array([sure(4), sure(6, 0.9), sure(6, 0.4), sure(4, 0.99)], np.float32), found, trust
    )
    assert read.digits == "44" and read.readings[1].box == (10, 0, 28, 12)
    read = to_number_prediction(
        np.array([sure(4), sure(6, 0.99), sure(6, 0.4), sure(4, 0.98)], np.float32), found, trust
    )
    assert read.digits == "466"
    # …without its alternatives' rows, the row is read as before
    assert to_number_prediction(np.array([sure(4), doubtful, sure(0)], np.float32), found, trust).digits == "400"
    halves = Regrouping(1, 2, (Reading(blank, (10, 0, 12, 12)), Reading(blank, (12, 0, 14, 12))))
    found = Digits(readings, alternatives=(halves,))
    assert to_number_prediction(np.array([sure(4), uniform, sure(0), sure(2), sure(7)]), found, trust).digits == "4270"
    assert to_number_prediction(np.array([sure(4), doubtful, sure(0), sure(2), sure(7)]), found, trust).digits == "400"
    # …and never into a 1 and another digit: the legs of a u or an n are straight strokes
    assert to_number_prediction(np.array([sure(4), uniform, sure(0), sure(1), sure(7)]), found, trust).digits == ""


def test_a_row_of_two_marks_is_never_joined_into_one():
    """Two marks, one of them no digit: joined they may pass as a digit (a drawing), but a row of marks
    is the evidence of a number; the picture is judged as it was."""
    from mnist_edge.runtime.predictor import to_number_prediction
    from mnist_edge.runtime.preprocess import Digits, Reading, Regrouping

    trust = Trust(temperature=1.0, threshold=-1.0)
    blank = np.zeros(784, np.float32)
    readings = (Reading(blank, (0, 0, 8, 12)), Reading(blank, (9, 0, 14, 12)))
    found = Digits(readings, alternatives=(Regrouping(0, 2, (Reading(blank, (0, 0, 14, 12)),)),))
    sure = [0.0] * 10
    sure[4] = 1.0
    read = to_number_prediction(np.array([[0.1] * 10, [0.05] * 9 + [0.55], sure], np.float32), found, trust)
    assert read.digits == "" and read.reason == NOT_A_DIGIT
