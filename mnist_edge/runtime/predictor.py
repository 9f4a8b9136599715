"""Run an exported ONNX model on images with onnxruntime alone."""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .. import contract
from ..contract import FP32_FILE, INPUT_SIZE, INT8_FILE, NUM_CLASSES, PREPROCESSING_SPEC
from ..errors import ModelError, UsageError, first_line
from ..limits import MAX_MODEL_BYTES, MAX_THREADS_PER_CORE, FileRefused, max_threads, read_regular_file
from . import integrity
from .card import card_from_metadata, validate_card
from .pattern import repeated_marks
from .preprocess import (
    Digits,
    ImageSource,
    Reading,
    decode_picture,
    looks_like_mnist,
    mnist_tensor,
    read_digits,
    read_picture,
    without_underline,
)
from .segment import best_chain
from .trust import NOT_A_DIGIT, Trust, near_uniform

DEFAULT_DIR = Path(contract.DEFAULT_DIR)
SHIPPED_DIR = Path(__file__).parent / "models"  # the pretrained model inside the package
DOUBTFUL_PIECE = 0.5  # pieces all read as their join's digit, one of them less surely than this, are that digit
LONE_HALVES_SURE = 0.9  # a lone group no digit is two digits only when both halves read at least this surely
DOUBTFUL_WHOLE = 0.9  # a piece of a row read as a digit less surely than this is two when both halves read this surely
SEGMENTS_SURE = 0.9  # a number read again by trying every cut is taken when each digit reads at least this surely,
SEGMENTS_READ = 0.5  # …in a row where at least this fraction of the pieces read as digits at first;
LONE_PAIR_SURE = 0.999  # a picture's only piece, read so, is two digits when both read at least this surely
UNDERLINE_DOUBT = 0.99  # a lone digit read less surely (or as no digit) is read again without a line under it


@dataclass(frozen=True)
class DigitReading:
    """One digit of what was read: its label, confidence, the model's probabilities, its box in the picture."""

    label: int
    confidence: float
    probabilities: tuple[float, ...]
    box: tuple[int, int, int, int] | None = None


@dataclass(frozen=True)
class Prediction:
    """What one picture holds.

    One digit: ``label``, ``confidence``, ``probabilities`` and ``box`` are that digit's, ``digits`` is
    ``str(label)``. A number: ``label`` and ``probabilities`` are None, ``confidence`` is the lowest of
    its digits', ``box`` the union of theirs, ``digits`` the string read ("2026"). Nothing (a picture
    that decoded but holds no digit): ``label``/``confidence`` None, ``digits`` "", ``reason`` says why.
    ``readings``: one ``DigitReading`` per digit, left to right. A Prediction made with only a label
    and its probabilities (the shape before numbers) fills ``digits`` and ``readings`` from them.
    """

    label: int | None
    confidence: float | None
    probabilities: tuple[float, ...] | None
    box: tuple[int, int, int, int] | None = None  # the digit in the picture: x0, y0, x1, y1 (pixels, x1/y1 exclusive)
    pixels: np.ndarray | None = field(default=None, repr=False, compare=False)  # what the model saw: [784] or [n, 784]
    digits: str | None = None  # None: derived from label ("" when there is none)
    reason: str | None = None  # why nothing was read
    readings: tuple[DigitReading, ...] | None = None  # None: derived from label

    def __post_init__(self):
        single = self.label is not None and self.probabilities is not None
        if self.digits is None:
            object.__setattr__(self, "digits", str(self.label) if self.label is not None else "")
        if self.readings is None:
            one = DigitReading(self.label, self.confidence, self.probabilities, self.box) if single else None
            object.__setattr__(self, "readings", (one,) if one is not None else ())

    def top_k(self, k: int) -> list[tuple[int, float]]:
        """The k most likely digits of a one-digit answer ([] for a number or nothing)."""
        if self.probabilities is None or self.label is None:
            return []
        order = np.argsort(self.probabilities)[::-1][:k]
        return [(int(i), float(self.probabilities[i])) for i in order]


def shipped_model_path(quantized: bool = True) -> Path:
    """The pretrained model that ships inside the package (int8 by default)."""
    return SHIPPED_DIR / (INT8_FILE if quantized else FP32_FILE)


def default_model_path(directory: str | os.PathLike = DEFAULT_DIR, shipped: bool = True) -> Path:
    """The int8 model in ``directory`` if present, else its fp32 one, else (``shipped``) the packaged model."""
    directory = Path(directory)
    candidates = [directory / INT8_FILE, directory / FP32_FILE]
    if shipped:
        candidates.append(shipped_model_path())
    for path in candidates:
        if path.is_file():
            return path
    raise ModelError(f"no model in {directory}/ ({INT8_FILE} or {FP32_FILE}); run 'mnist-edge export' or pass --model")


class Predictor:
    """Load an ONNX digit classifier once, predict many times; safe to share between threads.

    ``model`` defaults to the pretrained int8 model shipped in the package. ``verify`` checks the
    seal in the model card first: every byte onnxruntime will run, and the card itself, must hash
    to the card's ``content_sha256`` (see ``runtime.integrity``). The file is read once, checked,
    and onnxruntime gets those very bytes, so nothing can change between the check and the load.
    ``threads``: 1 ... cores x 4 (None: onnxruntime's choice).
    """

    def __init__(self, model: str | os.PathLike | None = None, threads: int | None = None, verify: bool = False):
        self.path = Path(model) if model is not None else shipped_model_path()
        check_threads(threads)
        data = read_model(self.path)
        where = str(self.path)
        sealed_card = integrity.verify(data, where) if verify else None
        self.session = _open_session(data, where, threads)
        card = (
            sealed_card
            if sealed_card is not None
            else card_from_metadata(self.session.get_modelmeta().custom_metadata_map)
        )
        if card is None:
            raise ModelError(
                f"{self.path}: no mnist-edge model card in its metadata; export it with 'mnist-edge export'"
            )
        self.card = card
        self.verified = verify
        self._check_signature()
        validate_card(self.card, where)
        spec = self.card["preprocessing"]["spec"]
        if spec != PREPROCESSING_SPEC:
            raise ModelError(f"{self.path}: model expects preprocessing {spec}, this runtime does {PREPROCESSING_SPEC}")
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name
        self.trust = Trust.from_card(self.card)  # temperature and "not a digit" rule; neutral for older cards
        self._per_thread = threading.local()

    def verify(self) -> None:
        """Raise ModelError unless the file on disk now is sealed and matches its card."""
        integrity.verify(read_model(self.path), str(self.path))

    def _check_signature(self) -> None:
        """The model must be what the runtime contract says: float32 [N, 784] in, float32 [N, 10] out, N dynamic."""
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelError(f"{self.path}: expected one input and one output, found {len(inputs)} and {len(outputs)}")
        for role, value, size in (("input", inputs[0], INPUT_SIZE), ("output", outputs[0], NUM_CLASSES)):
            shape = value.shape
            if value.type != "tensor(float)" or len(shape) != 2 or shape[1] != size:
                raise ModelError(f"{self.path}: {role} is {value.type} {shape}, expected float32 [N, {size}]")
            if isinstance(shape[0], int) and shape[0] > 0:
                raise ModelError(
                    f"{self.path}: {role} has a fixed batch size of {shape[0]}; mnist-edge needs a dynamic batch "
                    f"dimension ([N, {size}]); re-export the model"
                )

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """Run the model on a float32 ``[n, 784]`` batch of already-preprocessed digits."""
        batch = np.asarray(batch, dtype=np.float32)
        if batch.size == INPUT_SIZE:
            return np.array([self._row(batch)], np.float32)
        batch = np.ascontiguousarray(batch).reshape(-1, INPUT_SIZE)
        try:
            out = self.session.run([self.output_name], {self.input_name: batch})[0]
        except Exception as e:  # onnxruntime raises its own types for a model that cannot run
            raise ModelError(f"{self.path}: inference failed ({first_line(e)})") from None
        if not np.isfinite(out).all():
            raise self._damaged()
        return out

    def _row(self, pixels: np.ndarray) -> list[float]:
        """The model's 10 probabilities for one digit (784 values), as plain floats.

        Through input and output buffers bound once per thread, which skips onnxruntime's per-call
        conversion of inputs and outputs, and no numpy after the call: on the single-digit path
        every call made after the model's runs with cold caches and costs several times its
        isolated time.
        """
        bound = getattr(self._per_thread, "buffers", None)
        if bound is None:
            bound = self._per_thread.buffers = _BoundBuffers(self.session, self.input_name, self.output_name)
        bound.pixels[0] = pixels.reshape(INPUT_SIZE)
        try:
            self.session.run_with_iobinding(bound.binding)
        except Exception as e:
            raise ModelError(f"{self.path}: inference failed ({first_line(e)})") from None
        row = bound.row.tolist()
        if not math.isfinite(sum(row)):  # NaN or inf in any of 10 float32 values (their sum cannot overflow)
            raise self._damaged()
        return row

    def _damaged(self) -> ModelError:
        return ModelError(
            f"{self.path}: the model produced non-finite probabilities (NaN or inf); its weights are damaged"
        )

    def predict(self, image: ImageSource) -> Prediction:
        """Read the digit, or the number (digits in a row, left to right), in one picture.

        One model call for all its digits. A picture that decodes but holds no digit is a Prediction
        with ``digits == ""`` and a ``reason``; ImageError only when the picture cannot be read.
        """
        picture = decode_picture(image)
        gray = picture.gray
        if looks_like_mnist(gray):  # an MNIST-like 28×28: the shortest path (see _pass_through)
            return self._pass_through(gray, picture.size)
        found = read_picture(picture, mnist_checked=True)
        if len(found.readings) == 1 and found.whole is None and not found.alternatives:
            reading = found.readings[0]
            return third_look(self, found, _one_digit(self._row(reading.tensor), reading, self.trust))
        if _rows(found) == 0:
            return to_number_prediction(np.zeros((0, NUM_CLASSES), np.float32), found)
        return third_look(self, found, to_number_prediction(self.probabilities(_stack(found)), found, self.trust))

    def _pass_through(self, gray: np.ndarray, size: tuple[int, int]) -> Prediction:
        """``predict`` of a picture that passes through unchanged, as ``read_digits`` + ``to_prediction``
        would answer it, with as few calls as possible: after the model call every step runs with cold
        caches, and on this path each layer of calls costs about as much as the work it wraps. The card's
        shape rules are measured on the 8-bit picture before the model call, while OpenCV is still warm
        from decoding (3–5 µs less than after it; wasted only when the entropy rule rejects)."""
        odd = self.trust.odd_shape(gray)
        tensor = mnist_tensor(gray)
        values, rejected = self.trust.judge(self._row(tensor))
        return _digit_prediction(values, rejected or odd, (0, 0, *size), tensor)

    def predict_batch(self, images: Sequence[ImageSource] | Iterable[ImageSource]) -> list[Prediction]:
        """``predict`` for every picture, with one batched inference for all their digits."""
        found = [read_digits(img) for img in images]
        return predict_found(self, found)


def predict_found(predictor: Predictor, found: Sequence[Digits]) -> list[Prediction]:
    """Predictions for pictures already read (``read_digits``), with one model call for all their digits."""
    counts = [_rows(f) for f in found]
    if sum(counts) == 0:
        return [to_number_prediction(np.zeros((0, NUM_CLASSES), np.float32), f) for f in found]
    probs = predictor.probabilities(np.concatenate([_stack(f).reshape(-1, INPUT_SIZE) for f in found if _rows(f)]))
    ends = np.cumsum(counts)
    return [
        third_look(predictor, f, to_number_prediction(probs[e - c : e], f, predictor.trust))
        for f, c, e in zip(found, counts, ends, strict=True)
    ]


def second_look(predictor: Predictor, found: Digits, prediction: Prediction) -> Prediction:
    """``prediction``, or, for a lone digit read doubtfully (below UNDERLINE_DOUBT) or as no digit, the
    digit read again without a line drawn under it (``preprocess.without_underline``), when there is
    one and that reading is a digit and surer. Only then: finding the line costs more than the
    model call, and a digit read surely with its line stays (a 2's base, a printed 1's foot)."""
    if len(found.readings) != 1 or found.whole is not None or len(prediction.digits) > 1:
        return prediction
    if prediction.digits and prediction.confidence >= UNDERLINE_DOUBT:
        return prediction
    plain = without_underline(found.readings[0])
    if plain is None:
        return prediction
    again = to_prediction(predictor.probabilities(plain.tensor)[0], plain, predictor.trust)
    if again.label is not None and (not prediction.digits or again.confidence > prediction.confidence):
        return again
    return prediction


def third_look(predictor: Predictor, found: Digits, prediction: Prediction) -> Prediction:
    """``second_look``'s answer, or, for a picture read as no digit or with a doubtful digit (below
    ``DOUBTFUL_WHOLE``), its runs of touching pieces read again by trying every cut
    (``found.lattices``, ``segment.best_chain``): three digits written into each other, one the row
    step cut through, two written into each other alone. Taken when every digit of that reading is
    at least ``SEGMENTS_SURE``, surer than the first reading's least sure digit, with no two 1s side
    by side in a run (``_letter_legs``); in a row, only where its pieces mostly read as digits at
    first (``SEGMENTS_READ``: a word's letters do not); alone, only as two digits each read at least
    ``LONE_PAIR_SURE`` (a glyph of another script cut in two reads less surely)."""
    prediction = second_look(predictor, found, prediction)
    if found.lattices is None or (prediction.digits and prediction.confidence >= DOUBTFUL_WHOLE):
        return prediction
    lone = len(found.readings) == 1
    if not lone and not _mostly_digits(predictor, found.readings):
        return prediction
    lattices = found.lattices()
    if not lattices:
        return prediction
    probs = predictor.probabilities(np.stack([r.tensor for lat in lattices for r in lat.readings]))
    readings, row, changed = list(found.readings), len(probs), False
    for lat in reversed(lattices):  # right to left: the indices to the left hold
        row -= len(lat.readings)
        preds = [to_prediction(probs[row + k], r, predictor.trust) for k, r in enumerate(lat.readings)]
        scores = [math.log(max(p.confidence, 1e-9)) if p.label is not None else -math.inf for p in preds]
        chain = best_chain(lat.cuts, list(lat.spans), scores)
        if chain is not None and not _letter_legs([preds[k].label for k in chain]):
            readings[lat.start : lat.stop] = [lat.readings[k] for k in chain]
            changed = True
    if not changed or len(readings) < 2 or (lone and len(readings) != 2):
        return prediction
    again = Digits(tuple(readings))
    read_again = to_number_prediction(predictor.probabilities(_stack(again)), again, predictor.trust)
    if not read_again.digits:  # the cut reading is no number either (its confidence is None)
        return prediction
    surer = not prediction.digits or read_again.confidence > prediction.confidence
    if read_again.confidence >= (LONE_PAIR_SURE if lone else SEGMENTS_SURE) and surer:
        return read_again
    return prediction


def _mostly_digits(predictor: Predictor, readings: tuple[Reading, ...]) -> bool:
    """Whether at least ``SEGMENTS_READ`` of a row's pieces read as digits by the card's rule."""
    probs = predictor.probabilities(np.stack([r.tensor for r in readings]))
    read = [to_prediction(row, r, predictor.trust).label is not None for row, r in zip(probs, readings, strict=True)]
    return sum(read) >= SEGMENTS_READ * len(read)


def _letter_legs(labels: list[int]) -> bool:
    """Whether digits read by trying every cut hold two 1s side by side: the legs of a letter n, m, u, h
    or w cut apart (two 1s written into each other are rare; two 1s apart are not a run)."""
    return any(a == b == 1 for a, b in zip(labels, labels[1:], strict=False))


def _stack(found: Digits) -> np.ndarray:
    """The model's input for a picture's readings, then its alternatives', then the whole picture's
    (``to_number_prediction``)."""
    if len(found.readings) == 1 and found.whole is None and not found.alternatives:
        return found.readings[0].tensor
    whole = [found.whole.tensor] if found.whole is not None else []
    return np.stack(
        [r.tensor for r in found.readings] + [r.tensor for a in found.alternatives for r in a.readings] + whole
    )


def _rows(found: Digits) -> int:
    """How many model rows ``_stack(found)`` holds."""
    return len(found.readings) + sum(len(a.readings) for a in found.alternatives) + (found.whole is not None)


def to_prediction(probs: np.ndarray, reading: Reading | None = None, trust: Trust | None = None) -> Prediction:
    """The Prediction of one digit from its probabilities (float32 ``[10]``, and where it was).

    With ``trust`` (the model card's, issue 13): the probabilities are calibrated, and an input its
    rule rejects is "not a digit" (label None, the calibrated probabilities kept). Plain floats from
    the model's row on (numpy on 10 values costs more than it saves), every field given (nothing
    derived in ``Prediction.__post_init__``).
    """
    return _one_digit(np.asarray(probs, np.float32).tolist(), reading, trust)


def _one_digit(row: list[float], reading: Reading | None, trust: Trust | None) -> Prediction:
    box, pixels = (reading.box, reading.tensor) if reading is not None else (None, None)
    if trust is None:
        return _digit_prediction(row, False, box, pixels)
    if reading is not None and reading.tiny:  # too small for the card's threshold: only a uniform guess is none
        values = trust.judge(row)[0]
        return _digit_prediction(values, trust.threshold is not None and near_uniform(values), box, pixels)
    # the shape rules read the 8-bit picture when the tensor is that picture / 255
    shape = reading.gray if reading is not None and reading.gray is not None else pixels
    return _digit_prediction(*trust.judge(row, shape), box, pixels)


def _digit_prediction(values: list[float], rejected: bool, box, pixels: np.ndarray | None) -> Prediction:
    """One digit's Prediction, every field given (nothing left for ``Prediction.__post_init__`` to derive)."""
    probabilities = tuple(values)
    if rejected:
        return Prediction(None, None, probabilities, box, pixels, "", NOT_A_DIGIT, ())
    label = values.index(max(values))  # the first of equals, as numpy's argmax
    confidence = values[label]
    one = DigitReading(label, confidence, probabilities, box)
    return Prediction(label, confidence, probabilities, box, pixels, str(label), None, (one,))


def _digit_of_number(p: Prediction) -> DigitReading:
    """One digit of a number; one the single-digit rule doubted is read as its most likely label."""
    if p.label is not None:
        return DigitReading(p.label, p.confidence, p.probabilities, p.box)
    values = list(p.probabilities)
    label = values.index(max(values))
    return DigitReading(label, values[label], p.probabilities, p.box)


def to_number_prediction(probs: np.ndarray, found: Digits, trust: Trust | None = None) -> Prediction:
    """The Prediction of a picture from the probabilities of its digits (``[n, 10]``, one row per reading,
    then one per reading of its alternatives, as ``_stack`` orders them; the alternatives' rows may be left out).

    ``trust``: a single digit may be "not a digit" (``to_prediction``); a number's digits are
    calibrated. The row's alternatives (two pieces read as one, one read as two) replace its pieces
    where ``_takes`` says so: mostly where a piece is not a digit by the card's rule, and a join where
    it reads surer than each of its pieces. The number is "not a digit" as a whole when
    ``Trust.rejects_number`` says so; otherwise a digit the single-digit rule doubts is read as its
    most likely label. A picture one digit may fill (``found.whole``, its row last) is that digit when
    what was found is no digit, or, with ``found.whole_first``, when the whole picture reads surer.
    """
    probs = np.asarray(probs).reshape(-1, NUM_CLASSES)
    if found.whole is not None and len(probs) == _rows(found):
        read = to_number_prediction(probs[:-1], replace(found, whole=None), trust)
        whole = to_prediction(probs[-1], found.whole, trust)
        if whole.label is not None and (not read.digits or (found.whole_first and whole.confidence > read.confidence)):
            return whole
        return read
    if not found.readings:
        reason = found.reason or "no digit found"
        return Prediction(None, None, None, found.box, digits="", reason=reason, readings=())
    n = len(found.readings)
    if n == 1 and len(probs) == 1:
        return to_prediction(probs[0], found.readings[0], trust)
    readings = list(found.readings)
    each = [to_prediction(row, r, trust) for row, r in zip(probs[:n], readings, strict=True)]
    if len(probs) > n:
        readings, each = _regrouped(readings, each, found.alternatives, probs[n:], trust)
        if len(each) == 1:
            return each[0]
    rejected = [p.label is None for p in each]
    boxes = np.array([r.box for r in readings])
    box = (int(boxes[:, 0].min()), int(boxes[:, 1].min()), int(boxes[:, 2].max()), int(boxes[:, 3].max()))
    pixels = np.stack([r.tensor for r in readings])
    if any(rejected) and trust.rejects_number([p.probabilities for p in each], rejected):
        return Prediction(None, None, None, box, pixels, "", NOT_A_DIGIT, ())
    digits = tuple(_digit_of_number(p) for p in each)
    if repeated_marks([d.label for d in digits]):
        return Prediction(None, None, None, box, pixels, "", NOT_A_DIGIT, ())
    return Prediction(
        label=None,
        confidence=min(d.confidence for d in digits),
        probabilities=None,
        box=box,
        pixels=pixels,
        digits="".join(str(d.label) for d in digits),
        readings=digits,
    )


def _regrouped(readings: list, each: list, alternatives, probs: np.ndarray, trust: Trust) -> tuple[list, list]:
    """The row's readings and predictions with the alternatives it takes (``_takes``) in place of the
    pieces they replace; ``probs``: the alternatives' rows, in order. Where alternatives overlap, the
    one whose least sure digit is surest is taken."""
    options, row = [], 0
    for alt in alternatives:
        preds = [to_prediction(probs[row + k], r, trust) for k, r in enumerate(alt.readings)]
        row += len(alt.readings)
        if _takes(each[alt.start : alt.stop], preds, len(each)):
            options.append((min(p.confidence for p in preds), alt, preds))
    taken: set[int] = set()
    chosen = []
    for _, alt, preds in sorted(options, key=lambda o: -o[0]):
        span = set(range(alt.start, alt.stop))
        if not span & taken:
            taken |= span
            chosen.append((alt, preds))
    readings, each = list(readings), list(each)
    for alt, preds in sorted(chosen, key=lambda c: -c[0].start):  # right to left: the indices to the left hold
        readings[alt.start : alt.stop] = alt.readings
        each[alt.start : alt.stop] = preds
    return readings, each


def _takes(replaced: list, preds: list, row_length: int) -> bool:
    """Whether a row of ``row_length`` pieces reads its pieces ``replaced`` as ``preds`` instead.

    Every new reading must be accepted by the card's rule, and the row keep two digits at least (a row
    of marks is the evidence of a number; two marks joined into one are judged as they were). Where
    every replaced piece is a digit too, a join is taken only when it is surer than each of them (a 4
    over-cut into two doubtful pieces), or when every piece reads as the join's digit and one of them
    doubtfully (``DOUBTFUL_PIECE``: a flat 2 cut into a sure 2 and the doubtful "2" of its tail; two 2s
    written apart are both sure); halves only when the piece reads less surely than ``DOUBTFUL_WHOLE``
    and both halves at least that surely (two digits written into each other, read as one doubtful
    digit). Where one is not a digit: a join, if every accepted
    piece it absorbs keeps its label, was less sure than the join, or shares columns with a piece
    that is not a digit (a 0 cut into an unreadable arc and a "1" reaching into it; a sure 0
    beside a clipped 1 is not the 1's other half); halves, if the piece is one the model cannot read at all
    (``trust.near_uniform``: a doubtful 5 is a 5, not two digits) and neither half is a 1 (a 1 beside
    its neighbour is cut by the row step itself, ``row.split`` and ``row._leaning_one``, while the
    halves of a letter u, n or H are straight strokes). A lone piece (``row_length`` 1: no row says a
    number is there) is two digits only when both read surely (``LONE_HALVES_SURE``: the halves of a
    glyph of another script read doubtfully).
    """
    if any(p.label is None for p in preds) or row_length - len(replaced) + len(preds) < 2:
        return False
    surest = min(p.confidence for p in preds)
    if row_length == 1 and surest < LONE_HALVES_SURE:
        return False
    if all(p.label is not None for p in replaced):
        if len(preds) != 1:
            return surest >= DOUBTFUL_WHOLE and max(p.confidence for p in replaced) < DOUBTFUL_WHOLE
        same = all(p.label == preds[0].label for p in replaced)
        return surest > max(p.confidence for p in replaced) or (
            same and min(p.confidence for p in replaced) < DOUBTFUL_PIECE
        )
    if len(preds) > len(replaced):
        return all(near_uniform(p.probabilities) for p in replaced) and all(p.label != 1 for p in preds)
    labels = {p.label for p in preds}
    unread = [p.box for p in replaced if p.label is None]
    return all(
        p.label is None or p.label in labels or p.confidence < surest or _overlapping(p.box, unread) for p in replaced
    )


def _overlapping(box: tuple[int, int, int, int], others: list[tuple[int, int, int, int]]) -> bool:
    """Whether ``box`` shares columns with any of ``others``: pieces above or into each other, not side by side."""
    return any(min(box[2], o[2]) > max(box[0], o[0]) for o in others)


class _BoundBuffers:
    """One [1, 784] input and one [1, 10] output array, bound to the session; one set per thread."""

    def __init__(self, session: ort.InferenceSession, input_name: str, output_name: str):
        self.pixels = np.zeros((1, INPUT_SIZE), np.float32)
        self.probabilities = np.zeros((1, NUM_CLASSES), np.float32)
        self.binding = session.io_binding()
        self.binding.bind_cpu_input(input_name, self.pixels)
        self.binding.bind_output(output_name, "cpu", 0, np.float32, [1, NUM_CLASSES], self.probabilities.ctypes.data)
        self.row = self.probabilities[0]


def check_threads(threads: int | None) -> None:
    """None, or an int from 1 to cores x 4; UsageError otherwise."""
    if threads is None:
        return
    top = max_threads()
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= top:
        raise UsageError(
            f"threads must be an integer from 1 to {top} (cores x {MAX_THREADS_PER_CORE}), not {threads!r}"
        )


def read_model(path: Path) -> bytes:
    """The model file's bytes: a regular file of at most MAX_MODEL_BYTES, read once."""
    try:
        return read_regular_file(path, MAX_MODEL_BYTES)
    except FileRefused as e:
        raise ModelError(f"{path}: {e.reason}; expected an ONNX model file") from None
    except FileNotFoundError:
        raise ModelError(f"{path}: no such model file") from None
    except OSError as e:
        raise ModelError(f"{path}: cannot read ({e.strerror or e})") from None


def _open_session(data: bytes, where: str, threads: int | None) -> ort.InferenceSession:
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as e:
        raise ModelError(f"{where}: not a loadable ONNX model ({first_line(e)})") from None
