"""Prove that exported models behave like the Keras model they came from, in each runtime.

For each model and runtime: accuracy on the test images, top-1 agreement with Keras, the
largest and mean absolute difference of the probabilities, batch-1 latency (p50/p99, one
thread), throughput at a large batch, and file size. A ``Gate`` turns the figures into
pass/fail with thresholds that can be overridden, in every runtime alike. Runtimes:
``runtimes.RUNTIMES`` (onnxruntime by default; the ONNX reference evaluator and OpenCV DNN on
request). ``report["models"]`` holds Keras and the onnxruntime figures, ``report["runtimes"]``
every runtime's, ``report["skipped"]`` one line per runtime or model that was not run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..contract import FP32_FILE, INT8_FILE, KERAS_FILE, PARITY_FILE, PORTABLE_FILE, partial_parity_file
from ..errors import ModelError, first_line
from ..files import write_json

KERAS = "keras"
FP32 = "onnx_fp32"
INT8 = "onnx_int8"
PORTABLE = "onnx_int8_portable"
MODEL_FILES = {FP32: FP32_FILE, INT8: INT8_FILE, PORTABLE: PORTABLE_FILE}
LABELS = {KERAS: "keras", FP32: "onnx fp32", INT8: "onnx int8", PORTABLE: "int8 portable"}
DEFAULT_RUNTIMES = ("onnxruntime",)


@dataclass(frozen=True)
class Gate:
    """Default thresholds: fp32 is the same function; int8 may lose a little, never much."""

    fp32_min_agreement: float = 1.0  # fraction of test images with the same top-1 label as Keras
    fp32_max_abs_diff: float = 1e-4  # largest probability difference from Keras
    int8_min_agreement: float = 0.995
    int8_max_accuracy_drop_pp: float = 0.3  # percentage points below Keras
    int8_min_decision_agreement: float = 0.995  # same digit / "not a digit" answer as fp32 (test + non-digits)

    def failures(self, report: dict) -> list[str]:
        """Human-readable list of broken checks; empty when the gate passes."""
        out = []
        per_runtime = report.get("runtimes") or {"onnxruntime": report["models"]}
        for runtime, models in per_runtime.items():
            where = "" if runtime == "onnxruntime" else f" in {runtime}"
            for kind, m in models.items():
                if "error" in m:
                    out.append(f"{LABELS.get(kind, kind)}{where} did not run: {m['error']}")
                elif kind == FP32:
                    out += self._fp32(m, f"fp32{where}")
                elif kind in (INT8, PORTABLE):
                    out += self._int8(m, f"{'int8' if kind == INT8 else 'portable int8'}{where}")
        for kind, m in (report.get("trust") or {}).get("models", {}).items():
            agreement = m.get("decision_agreement_with_fp32")
            if agreement is not None and agreement < self.int8_min_decision_agreement:
                out.append(
                    f"{LABELS.get(kind, kind)} makes fp32's digit/not-a-digit decision on {agreement:.2%} of inputs "
                    f"(needs {self.int8_min_decision_agreement:.2%})"
                )
        return out

    def _fp32(self, m: dict, label: str) -> list[str]:
        out = []
        if m["agreement"] < self.fp32_min_agreement:
            out.append(
                f"{label} agrees with Keras on {m['agreement']:.2%} of images (needs {self.fp32_min_agreement:.2%})"
            )
        if m["max_abs_diff"] > self.fp32_max_abs_diff:
            out.append(
                f"{label} differs from Keras by up to {m['max_abs_diff']:.2e} (limit {self.fp32_max_abs_diff:.0e})"
            )
        return out

    def _int8(self, m: dict, label: str) -> list[str]:
        out = []
        if m["agreement"] < self.int8_min_agreement:
            out.append(
                f"{label} agrees with Keras on {m['agreement']:.2%} of images (needs {self.int8_min_agreement:.2%})"
            )
        if m["accuracy_drop_pp"] > self.int8_max_accuracy_drop_pp:
            out.append(
                f"{label} loses {m['accuracy_drop_pp']:.2f} pp of accuracy (limit {self.int8_max_accuracy_drop_pp} pp)"
            )
        return out


def compare(reference: np.ndarray, candidate: np.ndarray, labels: np.ndarray) -> dict:
    """Figures for ``candidate`` probabilities against the ``reference`` (Keras) ones."""
    ref_top, cand_top = reference.argmax(axis=1), candidate.argmax(axis=1)
    diff = np.abs(reference.astype(np.float64) - candidate.astype(np.float64))
    accuracy = float((cand_top == labels).mean())
    reference_accuracy = float((ref_top == labels).mean())
    return {
        "accuracy": accuracy,
        "agreement": float((cand_top == ref_top).mean()),
        "disagreements": int((cand_top != ref_top).sum()),
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "accuracy_drop_pp": round((reference_accuracy - accuracy) * 100, 4),
    }


def onnx_session(path: str | Path, threads: int = 1):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_runner(session) -> Callable[[np.ndarray], np.ndarray]:
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0]


def batched(run: Callable[[np.ndarray], np.ndarray], x: np.ndarray, batch: int = 1000) -> np.ndarray:
    return np.concatenate([run(x[i : i + batch]) for i in range(0, len(x), batch)])


def timing(run: Callable[[np.ndarray], np.ndarray], x: np.ndarray, repeats: int = 300, big_batch: int = 1000) -> dict:
    """Batch-1 latency percentiles (µs) and images/s at ``big_batch``."""
    one = x[:1]
    for _ in range(20):
        run(one)
    samples = []
    for i in range(repeats):
        sample = x[i % len(x) : i % len(x) + 1]
        t = time.perf_counter()
        run(sample)
        samples.append(time.perf_counter() - t)
    big = x[:big_batch]
    run(big)
    t = time.perf_counter()
    rounds = 5
    for _ in range(rounds):
        run(big)
    per_image = (time.perf_counter() - t) / (rounds * len(big))
    us = np.array(samples) * 1e6
    return {
        "latency_p50_us": round(float(np.percentile(us, 50)), 1),
        "latency_p99_us": round(float(np.percentile(us, 99)), 1),
        "throughput_per_s": round(1.0 / per_image),
        "throughput_batch": len(big),
    }


def parity_report(
    keras_model,
    onnx_models: dict[str, Path],
    x_test: np.ndarray,
    y_test: np.ndarray,
    keras_path: Path | None = None,
    gate: Gate = Gate(),
    measure_speed: bool = True,
    runtimes: tuple[str, ...] = DEFAULT_RUNTIMES,
    trust=None,
) -> dict:
    """Run Keras and each ONNX model in each runtime on the test images; every figure plus the verdict.

    ``trust`` (a ``runtime.trust.Trust``, the card's calibration and rejection): also ECE before/after
    and the digit/not-a-digit decisions of each model in onnxruntime (``report["trust"]``, gated).

    A runtime whose package is missing is skipped with a note. A model a runtime does not implement
    (the fused int8 model outside onnxruntime) is skipped with a note; a default-domain model that
    fails to load or run in a requested runtime fails the gate.
    """
    import tensorflow as tf

    from . import runtimes as rt

    keras_probs = keras_model.predict(x_test, batch_size=1000, verbose=0)
    keras_call = tf.function(lambda x: keras_model(x, training=False))
    models = {KERAS: compare(keras_probs, keras_probs, y_test)}
    if keras_path is not None:
        models[KERAS]["size_bytes"] = Path(keras_path).stat().st_size
    if measure_speed:
        models[KERAS].update(timing(lambda x: keras_call(x).numpy(), x_test))
    per_runtime: dict[str, dict] = {}
    skipped: list[str] = []
    for runtime in runtimes:
        if reason := rt.missing(runtime):
            skipped.append(reason)
            continue
        figures = per_runtime.setdefault(runtime, {})
        for name, path in onnx_models.items():
            if reason := rt.unsupported(runtime, path):
                skipped.append(f"{LABELS.get(name, name)} in {runtime} skipped: {reason}")
                continue
            try:
                run = rt.runner(runtime, path)
                probabilities = batched(run, x_test)
            except Exception as e:  # the runtime refused a default-domain model: that is what the gate is for
                figures[name] = {"error": first_line(e)}
                continue
            figures[name] = compare(keras_probs, probabilities, y_test)
            figures[name]["size_bytes"] = Path(path).stat().st_size
            if measure_speed:
                figures[name].update(timing(run, x_test))
    models.update({k: v for k, v in per_runtime.get("onnxruntime", {}).items() if "error" not in v})
    report = {
        "test_images": int(len(x_test)),
        "gate": asdict(gate),
        "models": models,
        "runtimes": per_runtime,
        "skipped": skipped,
    }
    if trust is not None:
        report["trust"] = trust_figures(trust, onnx_models, x_test, y_test)
    report["failures"] = gate.failures(report)
    report["passed"] = not report["failures"]
    return report


def trust_figures(trust, onnx_models: dict[str, Path], x_test: np.ndarray, y_test: np.ndarray) -> dict:
    """Per model in onnxruntime: ECE (15 bins) before/after the temperature, reject rates, decision agreement.

    The decisions are compared on the test digits plus ``calibrate.synthetic_non_digits`` (so that
    "not a digit" answers are compared too); ``reliability`` holds the bins for ``reliability.png``.
    """
    from .calibrate import decisions, ece, reliability, synthetic_non_digits

    others = synthetic_non_digits(x_test)
    inputs = np.concatenate([x_test, others])
    figures, bins, reference = {}, {}, None
    for kind in (FP32, INT8, PORTABLE):
        if kind not in onnx_models:
            continue
        probabilities = batched(onnx_runner(onnx_session(onnx_models[kind])), inputs)
        test, calibrated = probabilities[: len(x_test)], trust.calibrate(probabilities[: len(x_test)])
        decided = decisions(trust, probabilities, inputs)
        m = {
            "ece_before": round(ece(test, y_test), 6),
            "ece_after": round(ece(calibrated, y_test), 6),
            "test_reject_rate": round(float((decided[: len(x_test)] < 0).mean()), 6),
            "non_digit_reject_rate": round(float((decided[len(x_test) :] < 0).mean()), 6),
        }
        if reference is None:
            reference = decided
        else:
            m["decision_agreement_with_fp32"] = round(float((decided == reference).mean()), 6)
        figures[kind] = m
        bins[kind] = {
            when: [v.tolist() for v in reliability(p, y_test)] for when, p in (("before", test), ("after", calibrated))
        }
    return {
        "temperature": trust.temperature,
        "threshold": trust.threshold,
        "non_digits": f"{len(others)} synthetic (noise, overlaid digit pairs, scribbles)",
        "models": figures,
        "reliability": bins,
    }


def format_report(report: dict) -> str:
    """A fixed-width table for the terminal; a runtime column when more than onnxruntime ran."""
    runtimes = report.get("runtimes") or {"onnxruntime": {k: v for k, v in report["models"].items() if k != KERAS}}
    several = list(runtimes) != ["onnxruntime"]
    first = f"{'model':<13} {'runtime':<11} " if several else f"{'model':<10} "
    header = (
        first
        + f"{'accuracy':>9} {'agree':>8} {'max|Δp|':>9} {'mean|Δp|':>9} {'p50 µs':>9} {'p99 µs':>9} {'img/s':>9} {'size':>9}"
    )
    lines = [f"parity on {report['test_images']} test images", header, "-" * len(header)]
    rows = [(KERAS, "tensorflow", report["models"][KERAS])]
    rows += [(kind, runtime, m) for runtime, models in runtimes.items() for kind, m in models.items()]
    for kind, runtime, m in rows:
        label = LABELS.get(kind, kind)
        lead = f"{label:<13} {runtime:<11} " if several else f"{label:<10} "
        if "error" in m:
            lines.append(lead + f"did not run: {m['error']}")
            continue
        lines.append(
            lead + f"{m['accuracy']:>9.2%} {m['agreement']:>8.2%} {m['max_abs_diff']:>9.1e} {m['mean_abs_diff']:>9.1e} "
            f"{_fmt(m.get('latency_p50_us'), '.0f'):>9} {_fmt(m.get('latency_p99_us'), '.0f'):>9} "
            f"{_fmt(m.get('throughput_per_s'), ',.0f'):>9} {_size(m.get('size_bytes')):>9}"
        )
    lines += [f"note: {note}" for note in report.get("skipped", [])]
    lines += _trust_lines(report.get("trust"), report["gate"])
    verdict = "gate: passed" if report["passed"] else "gate: FAILED\n  - " + "\n  - ".join(report["failures"])
    return "\n".join(lines + [verdict])


def _trust_lines(trust: dict | None, gate: dict) -> list[str]:
    """One line per model (ECE before → after, reject rates) and one ✓/✗ line per decision check."""
    if not trust:
        return []
    lines = [f"calibration T = {trust['temperature']:.3f}; not-a-digit threshold {trust['threshold']}"]
    need = gate.get("int8_min_decision_agreement", Gate.int8_min_decision_agreement)
    for kind, m in trust["models"].items():
        lines.append(
            f"{LABELS.get(kind, kind):<13} ECE {m['ece_before']:.2%} → {m['ece_after']:.2%}; rejects "
            f"{m['test_reject_rate']:.2%} of test digits, {m['non_digit_reject_rate']:.1%} of non-digits"
        )
        agreement = m.get("decision_agreement_with_fp32")
        if agreement is not None:
            mark = "✓" if agreement >= need else "✗"
            lines.append(
                f"{mark} {LABELS.get(kind, kind)}: same decision as fp32 on {agreement:.2%} (needs {need:.2%})"
            )
    return lines


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    return f"{n / 1024:.0f} KiB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MiB"


def report_file(model_dir: Path, test_images: int, total: int) -> Path:
    """``parity.json`` for a run on the whole test set; ``parity.first-N.json`` for a partial one."""
    return Path(model_dir) / (PARITY_FILE if test_images >= total else partial_parity_file(test_images))


def reliability_file(model_dir: Path, test_images: int, total: int) -> Path:
    """``reliability.png`` beside ``parity.json``; ``reliability.first-N.png`` for a partial run."""
    name = "reliability.png" if test_images >= total else f"reliability.first-{test_images}.png"
    return Path(model_dir) / name


def card_trust(path: Path):
    """The ``runtime.trust.Trust`` in a model file's card; None when it has no calibration or rejection."""
    from ..runtime.card import card_from_metadata
    from ..runtime.trust import Trust

    card = card_from_metadata(onnx_session(path).get_modelmeta().custom_metadata_map) or {}
    return Trust.from_card(card) if ("calibration" in card or "rejection" in card) else None


def run_parity(
    model_dir: str | Path,
    data=None,
    test_images: int | None = None,
    measure_speed: bool = True,
    gate: Gate = Gate(),
    runtimes: tuple[str, ...] = DEFAULT_RUNTIMES,
) -> dict:
    """Compare the ONNX models in ``model_dir`` with its Keras model; write and return the report.

    ``runtimes``: where to run them (``runtimes.RUNTIMES``); a runtime whose package is missing is
    skipped with a note in ``report["skipped"]``.

    ``test_images``: the first N test images only; such a partial report is saved as
    ``parity.first-N.json`` so it never replaces the full ``parity.json``. The returned report holds
    ``report_file``, where it was saved. Inputs are checked before TensorFlow is imported.
    """
    from ..training.data import check_source, load_mnist, to_model_input
    from .convert import check_keras_path, load_keras_model

    model_dir = Path(model_dir)
    keras_path = model_dir / KERAS_FILE
    check_keras_path(keras_path)
    onnx_models = {k: model_dir / f for k, f in MODEL_FILES.items() if (model_dir / f).is_file()}
    if not onnx_models:
        raise ModelError(f"no ONNX models in {model_dir}/; run 'mnist-edge export' first")
    check_source(data)
    keras_model = load_keras_model(keras_path)
    mnist = load_mnist(data)
    x_test, y_test = to_model_input(mnist.x_test)[:test_images], mnist.y_test[:test_images]
    trust = card_trust(onnx_models[FP32]) if FP32 in onnx_models else None
    report = parity_report(keras_model, onnx_models, x_test, y_test, keras_path, gate, measure_speed, runtimes, trust)
    if trust is not None:
        from .reliability import write_reliability

        write_reliability(report, reliability_file(model_dir, len(x_test), len(mnist.x_test)), LABELS)
    path = report_file(model_dir, len(x_test), len(mnist.x_test))
    write_json(path, report)
    return {**report, "report_file": str(path)}
