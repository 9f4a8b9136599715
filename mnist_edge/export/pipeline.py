"""``export()``: Keras → ONNX fp32 (+ int8), each with a model card, behind the parity gate.

Named steps, each callable on its own:

    check_inputs → convert → quantize (and/or portable) → calibrate (temperature, "not a digit")
    → measure (parity) → check (gate) → describe (card) → publish

Nothing reaches its final name before the gate passes: models are written to temporary files
beside their destination, checked, sealed with their card and only then published as one set
(``publish``): a new version folder ``.versions/<id>/`` with the models, then one atomic switch
of the ``current`` symlink that ``model.onnx`` and ``model.int8.onnx`` point through. A failed
gate or a crash at any point leaves either the previous set or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..contract import DEFAULT_DIR, FP32_FILE, INT8_FILE, PORTABLE_FILE
from ..errors import ConfigError, ParityError
from ..faults import crash_point
from ..files import publish_set, temp_beside, write_json
from ..provenance import sha256_file
from ..runtime.trust import Trust
from ..training.data import Mnist, check_source, load_mnist, subsample, to_model_input
from .calibrate import fit_trust, validation_split
from .card import add_card, card_source_keras_sha, model_card, training_record
from .convert import check_keras_path, keras_to_onnx, load_keras_model
from .parity import DEFAULT_RUNTIMES, FP32, INT8, LABELS, PORTABLE, Gate, parity_report, reliability_file, report_file
from .quantize import QUANTIZE_MODES, quantize
from .reliability import write_reliability
from .runtimes import RUNTIMES

SET_FILES = (FP32_FILE, INT8_FILE, PORTABLE_FILE)  # published together, as one set


@dataclass
class ExportConfig:
    quantize: str | None = None  # None, "static" or "dynamic"
    calibration_images: int = 1000
    seed: int = 0
    enforce_gate: bool = True  # False: publish even when the gate fails (--no-gate)
    test_images: int | None = None  # compare on the first N test images only
    measure_speed: bool = True
    gate: Gate = Gate()
    command: str | None = None  # the command line that ran the export, for the card
    runtimes: tuple[str, ...] = DEFAULT_RUNTIMES  # where the gate runs the models (parity.runtimes)
    portable: bool = False  # also the portable int8 model (default-domain ONNX ops, any runtime)


def export(
    model_path: str | Path, out_dir: str | Path = DEFAULT_DIR, config: ExportConfig = ExportConfig(), data=None
) -> dict:
    """Export ``model_path`` to ONNX in ``out_dir``; return ``{"files", "removed", "parity", "report_file"}``."""
    model_path, out_dir = Path(model_path), Path(out_dir)
    check_inputs(model_path, config, data)
    keras_model = load_keras_model(model_path)
    mnist = load_mnist(data)
    x_test, y_test = to_model_input(mnist.x_test)[: config.test_images], mnist.y_test[: config.test_images]

    out_dir.mkdir(parents=True, exist_ok=True)
    with _staging() as staged:
        staged[FP32] = convert(keras_model, out_dir)
        if config.quantize:
            staged[INT8] = quantize_step(staged[FP32], out_dir, config, mnist)
        if config.portable:
            staged[PORTABLE] = quantize_step(staged[FP32], out_dir, config, mnist, portable=True)
        keras_sha = sha256_file(model_path)
        trust_fields = calibrate(staged[FP32], mnist, training_record(model_path, keras_sha))
        trust = Trust.from_card(trust_fields)
        report = parity_report(
            keras_model, staged, x_test, y_test, model_path, config.gate, config.measure_speed, config.runtimes, trust
        )
        check(report, config)
        describe(staged, report, model_path, keras_sha, mnist, config, trust_fields)
        finals, removed = publish(staged, out_dir, keras_sha)
    saved = report_file(out_dir, len(x_test), len(mnist.x_test))  # parity.first-N.json for a partial run
    write_reliability(report, reliability_file(out_dir, len(x_test), len(mnist.x_test)), LABELS)
    write_json(saved, report)
    files = {k: str(finals[k]) for k in report["models"] if k in finals}
    return {"files": files, "removed": removed, "parity": report, "report_file": str(saved)}


def check_inputs(model_path: Path, config: ExportConfig, data=None) -> None:
    """Everything that can be checked before TensorFlow is imported."""
    if config.quantize not in (None, *QUANTIZE_MODES):
        raise ConfigError(f"quantize must be one of {QUANTIZE_MODES}, not {config.quantize!r}")
    unknown = [r for r in config.runtimes if r not in RUNTIMES]
    if unknown or not config.runtimes:
        raise ConfigError(f"runtimes must be some of {', '.join(RUNTIMES)}, not {config.runtimes!r}")
    check_keras_path(model_path)
    check_source(data)


def convert(keras_model, out_dir: Path) -> Path:
    """Step 1: the fp32 ONNX model, in a temporary file beside its final name."""
    path = temp_beside(out_dir / FP32_FILE)
    path.write_bytes(keras_to_onnx(keras_model).SerializeToString())
    return path


def quantize_step(fp32_path: Path, out_dir: Path, config: ExportConfig, mnist: Mnist, portable: bool = False) -> Path:
    """Step 2: the int8 model (fused and quantized), or the portable one, in a temporary file beside its final name."""
    x_train, _ = subsample(mnist.x_train, mnist.y_train, config.calibration_images, config.seed)
    path = temp_beside(out_dir / (PORTABLE_FILE if portable else INT8_FILE))
    quantize(fp32_path, path, "portable" if portable else config.quantize, to_model_input(x_train))
    return path


def calibrate(fp32_path: Path, mnist: Mnist, training: dict | None) -> dict:
    """Step 3: fit the temperature and the "not a digit" rule on the fp32 model's validation probabilities.

    Returns the card fields ``calibration`` and ``rejection`` (``export.calibrate.fit_trust``); the
    validation split is the training recipe's (``training``: metrics.json), never the test set.
    """
    from .parity import batched, onnx_runner, onnx_session

    x_val, y_val, where = validation_split(mnist, training)
    probabilities = batched(onnx_runner(onnx_session(fp32_path)), x_val)
    return fit_trust(probabilities, y_val, x_val, where)


def check(report: dict, config: ExportConfig) -> None:
    """Step 4: the gate; ParityError names the failed checks unless the gate is off."""
    if config.enforce_gate and not report["passed"]:
        raise ParityError("parity gate failed: " + "; ".join(report["failures"]) + "; previous exports kept")


def describe(
    staged: dict[str, Path], report: dict, model_path: Path, keras_sha: str, mnist: Mnist, config, trust_fields=None
) -> None:
    """Step 5: write each staged model's card into its metadata (with the calibration and rejection fields)."""
    source = {
        "keras_model": model_path.name,
        "keras_model_sha256": keras_sha,
        "keras_test_accuracy": report["models"]["keras"]["accuracy"],
        "data": mnist.provenance(),
        "training": training_record(model_path, keras_sha),
        "export_command": config.command,
    }
    for kind, path in staged.items():
        mode = {FP32: None, INT8: config.quantize, PORTABLE: "portable"}[kind]
        card = model_card(source, mode, report["models"][kind], report["test_images"], config.calibration_images)
        add_card(path, {**card, **(trust_fields or {})})


def publish(staged: dict[str, Path], out_dir: Path, keras_sha: str | None = None) -> tuple[dict[str, Path], list[str]]:
    """Step 6: publish the staged models as one set (``files.publish_set``); empties ``staged``.

    An int8 model this export did not write (no ``--quantize`` / ``--portable``) joins the new set
    when it was exported from the same Keras model (or has no readable card: not ours to judge); one
    of another Keras model is left out, else ``predict`` would go on picking an int8 model of another
    network (and ``parity`` would check it). Returns the final paths and the models left out.
    """
    finals = {FP32: out_dir / FP32_FILE, INT8: out_dir / INT8_FILE, PORTABLE: out_dir / PORTABLE_FILE}
    removed: list[str] = []
    for kind in (INT8, PORTABLE):
        if kind in staged or not finals[kind].is_file():
            continue
        recorded = card_source_keras_sha(finals[kind])
        if recorded is None or recorded == keras_sha:
            staged[kind] = temp_beside(finals[kind])
            shutil.copyfile(finals[kind], staged[kind])
        else:
            removed.append(str(finals[kind]))
    crash_point("export:before-publish")
    publish_set(out_dir, {finals[kind].name: path for kind, path in staged.items()}, names=SET_FILES)
    staged.clear()
    crash_point("export:after-publish")
    return finals, removed


@contextlib.contextmanager
def _staging():
    """A dict of kind → temp path; whatever is still in it on exit is deleted."""
    staged: dict[str, Path] = {}
    try:
        yield staged
    finally:
        for path in staged.values():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
