"""The ``mnist-edge`` command: a thin click layer over the Python API.

Heavy modules (TensorFlow, tf2onnx, onnx) are imported inside the commands
that need them, so ``mnist-edge predict`` starts with onnxruntime alone.
"""

from __future__ import annotations

import glob
import json
import sys
from pathlib import Path

import click

from . import __version__
from .errors import MnistEdgeError

DEFAULT_DIR = "artifacts"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm"}


class _Cli(click.Group):
    """Turns expected failures into one line on stderr and exit code 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except MnistEdgeError as e:
            click.echo(f"mnist-edge: error: {e}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("mnist-edge: interrupted", err=True)
            ctx.exit(130)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mnist-edge")
def cli():
    """Train the Keras MNIST MLP, export it to ONNX (fp32 and int8), and predict digits anywhere."""


_data_option = click.option(
    "--data",
    type=click.Path(path_type=Path),
    default=None,
    help="MNIST directory of IDX files (gz or raw) or a Keras mnist.npz. "
    "Default: $MNIST_EDGE_DATA, then the Keras cache, then a Keras download.",
)


def _hidden_sizes(ctx, param, value: str | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    try:
        sizes = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter("expected comma-separated integers, e.g. 512,512") from None
    if not sizes or min(sizes) < 1:
        raise click.BadParameter("expected one or more positive layer sizes")
    return sizes


@cli.command()
@_data_option
@click.option("--recipe", type=click.Choice(["edge", "seed"]), default="edge", show_default=True,
              help="edge: distortions, cosine schedule, label smoothing, early stopping (best accuracy); "
              "seed: the classic Keras tutorial (5 epochs, Adam).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=DEFAULT_DIR, show_default=True, help="Output folder.")
@click.option("--epochs", type=click.IntRange(1), default=None, help="Epochs [recipe: edge 40, seed 5].")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for weights, shuffling, distortions and subsampling.")
@click.option("--hidden", default=None, callback=_hidden_sizes, help="Hidden layer sizes [recipe: 512,512].")
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=None, help="Dropout rate [recipe: edge 0.25, seed 0.2].")
@click.option("--batch-size", type=click.IntRange(1), default=None, help="Batch size [recipe: 128].")
@click.option("--learning-rate", type=click.FloatRange(0, min_open=True), default=None, help="Peak learning rate [recipe: edge 2e-3, seed 1e-3].")
@click.option("--limit", type=click.IntRange(1), default=None, help="Train on a random subset of this many images.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON on stdout.")
def train(data, recipe, out_dir, epochs, seed, hidden, dropout, batch_size, learning_rate, limit, as_json):
    """Train the MLP and write OUT/model.keras and OUT/metrics.json."""
    from .train import METRICS_FILE, MODEL_FILE, RECIPES
    from .train import train as run_training

    config = RECIPES[recipe].replace(
        epochs=epochs, seed=seed, hidden=hidden, dropout=dropout, batch_size=batch_size,
        learning_rate=learning_rate, limit=limit,
    )
    if config.limit and config.validation >= config.limit:
        config = config.replace(validation=max(1, config.limit // 10))
    verbose = 0 if as_json else (1 if sys.stdout.isatty() else 2)
    metrics = run_training(config, out_dir, data, verbose, command=_command_line())
    if as_json:
        click.echo(json.dumps(metrics))
        return
    click.echo(
        f"test accuracy {metrics['test_accuracy']:.2%}  loss {metrics['test_loss']:.4f}  "
        f"({recipe} recipe, {metrics['train_examples']} training images, {metrics['epochs_trained']} epochs, "
        f"{metrics['wall_time_s']:.0f} s)"
    )
    click.echo(f"wrote {Path(out_dir) / MODEL_FILE} and {Path(out_dir) / METRICS_FILE}")


@cli.command()
@_data_option
@click.option(
    "--model",
    "model_path",
    type=click.Path(path_type=Path),
    default=f"{DEFAULT_DIR}/model.keras",
    show_default=True,
    help="Keras model to export.",
)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None, help="Output folder [default: the model's folder].")
@click.option(
    "--quantize",
    type=click.Choice(["static", "dynamic"]),
    is_flag=False,
    flag_value="static",
    default=None,
    help="Also write an int8 model: static (calibrated, the default when the flag is bare) or dynamic.",
)
@click.option("--calibration-images", type=click.IntRange(1), default=1000, show_default=True, help="Training images for static calibration.")
@click.option("--no-parity", is_flag=True, help="Write the models even if they fail the parity gate.")
@click.option("--parity-limit", type=click.IntRange(1), default=None, help="Check parity on the first N test images only.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
def export(data, model_path, out_dir, quantize, calibration_images, no_parity, parity_limit, as_json):
    """Export a Keras model to ONNX (and int8 with --quantize), then check parity with Keras."""
    from .export import ExportConfig
    from .export import export as run_export
    from .parity import format_report

    config = ExportConfig(
        quantize, calibration_images, parity=not no_parity, parity_limit=parity_limit, command=_command_line()
    )
    result = run_export(model_path, out_dir or model_path.parent, config, data)
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(format_report(result["parity"]))
    for path in result["files"].values():
        click.echo(f"wrote {path}")
    for path in result["removed"]:
        click.echo(f"removed {path} (exported from another Keras model; use --quantize to refresh it)")


@cli.command()
@_data_option
@click.option("--dir", "model_dir", type=click.Path(path_type=Path, file_okay=False), default=DEFAULT_DIR, show_default=True, help="Folder with model.keras and the ONNX models.")
@click.option("--limit", type=click.IntRange(1), default=None, help="Use the first N test images only.")
@click.option("--no-speed", is_flag=True, help="Skip the latency and throughput measurements.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
def parity(data, model_dir, limit, no_speed, as_json):
    """Compare the ONNX models with the Keras model on the test set; exit 1 if the gate fails."""
    from .atomic import write_json
    from .data import load_mnist, to_model_input
    from .export import PARITY_FILE, load_keras_model
    from .parity import FP32, INT8, format_report, parity_report
    from .runtime.predictor import FP32_FILE, INT8_FILE

    keras_path = model_dir / "model.keras"
    keras_model = load_keras_model(keras_path)
    onnx_models = {k: model_dir / f for k, f in ((FP32, FP32_FILE), (INT8, INT8_FILE)) if (model_dir / f).is_file()}
    if not onnx_models:
        raise MnistEdgeError(f"no ONNX models in {model_dir}/; run 'mnist-edge export' first")
    mnist = load_mnist(data)
    x_test, y_test = to_model_input(mnist.x_test)[:limit], mnist.y_test[:limit]
    report = parity_report(keras_model, onnx_models, x_test, y_test, keras_path, measure_speed=not no_speed)
    write_json(model_dir / PARITY_FILE, report)
    click.echo(json.dumps(report) if as_json else format_report(report))
    if not report["passed"]:
        sys.exit(1)


@cli.command()
@click.argument("images", nargs=-1, required=True)
@click.option("--model", "model_path", type=click.Path(path_type=Path), default=None, help="ONNX model file [default: see above].")
@click.option("--top-k", type=click.IntRange(1, 10), default=1, show_default=True, help="Also show the k most likely digits.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per image on stdout.")
@click.option("--threads", type=click.IntRange(1), default=None, help="Inference threads [default: onnxruntime's choice].")
@click.option("--verify", is_flag=True, help="Check the model's weights against the SHA-256 in its model card first.")
def predict(images, model_path, top_k, as_json, threads, verify):
    """Predict the digit in each IMAGE (files, directories searched recursively, or globs).

    Without --model: artifacts/model.int8.onnx, else artifacts/model.onnx, else the pretrained
    model shipped with mnist-edge.
    """
    from .runtime import Predictor, default_model_path
    from .runtime.batch import predict_files

    predictor = Predictor(model_path or default_model_path(DEFAULT_DIR), threads=threads, verify=verify)
    paths = expand_inputs(images)
    show_bar = not as_json and sys.stderr.isatty() and len(paths) > 20
    failures = 0
    with click.progressbar(length=len(paths), label="predicting", file=sys.stderr) if show_bar else _NoBar() as bar:
        for path, outcome in predict_files(predictor, paths):
            bar.update(1)
            failures += isinstance(outcome, Exception)
            click.echo(_format_outcome(path, outcome, top_k, as_json))
    sys.exit(1 if failures else 0)


def _command_line() -> str:
    return " ".join(["mnist-edge", *sys.argv[1:]])


def expand_inputs(args) -> list[str]:
    """Files as given; directories walked for image files; globs expanded. Missing paths stay, to be reported."""
    paths: list[str] = []
    for arg in args:
        p = Path(arg)
        if p.is_dir():
            found = [str(f) for f in sorted(p.rglob("*")) if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES]
            paths.extend(found or [arg])  # an empty folder is reported, not silently skipped
        elif not p.exists() and glob.has_magic(arg):
            paths.extend(sorted(glob.glob(arg, recursive=True)) or [arg])
        else:
            paths.append(arg)
    return paths


def _format_outcome(path: str, outcome, top_k: int, as_json: bool) -> str:
    if isinstance(outcome, Exception):
        reason = getattr(outcome, "reason", str(outcome))  # the line names the path already
        return json.dumps({"path": path, "error": reason}) if as_json else f"{path}: error: {reason}"
    if as_json:
        record = {
            "path": path,
            "label": outcome.label,
            "confidence": outcome.confidence,
            "probabilities": list(outcome.probabilities),
        }
        if top_k > 1:
            record["top_k"] = [{"label": d, "probability": p} for d, p in outcome.top_k(top_k)]
        return json.dumps(record)
    line = f"{path}: {outcome.label} ({outcome.confidence:.3f})"
    if top_k > 1:
        line += "  " + " ".join(f"{d}:{p:.3f}" for d, p in outcome.top_k(top_k))
    return line


class _NoBar:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n):
        pass


def main():
    cli(prog_name="mnist-edge")


if __name__ == "__main__":
    main()
