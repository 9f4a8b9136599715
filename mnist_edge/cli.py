"""The ``mnist-edge`` command: a thin click layer over the Python API.

Each command parses its options, makes one library call and prints the result. The stage
packages are imported inside the commands that need them, so ``mnist-edge predict`` starts with
onnxruntime alone. Options renamed in 0.2.0 keep their old spelling as a hidden alias.
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from pathlib import Path

import click

from . import __version__
from .contract import DEFAULT_DIR, INT8_FILE, KERAS_FILE, METRICS_FILE, PORTABLE_FILE
from .errors import MnistEdgeError
from .limits import MAX_THREADS_PER_CORE, max_threads


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


_verbose_option = click.option(
    "--verbose", "-v", is_flag=True, help="Let library warnings (Pillow, onnxruntime, numpy) through to stderr."
)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mnist-edge")
@_verbose_option
def cli(verbose):
    """Train the Keras MNIST MLP, export it to ONNX (fp32 and int8), and predict digits anywhere."""
    _set_verbosity(verbose)


def _set_verbosity(verbose: bool) -> None:
    """Quiet by default: stderr carries our own one-line messages, not the libraries' warnings."""
    if verbose:
        warnings.resetwarnings()
        warnings.simplefilter("default")
    else:
        warnings.simplefilter("ignore")


def _dumps(obj) -> str:
    """JSON that strict parsers accept: NaN and infinities become null rather than bare NaN."""
    try:
        return json.dumps(obj, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(obj), allow_nan=False)


def _finite(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


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


def _hidden_alias(old: str, new: str, **kwargs):
    """The 0.1 spelling ``old`` of option ``new``, hidden from --help; kept for one release."""
    return click.option(
        old, f"alias_{old.lstrip('-').replace('-', '_')}", hidden=True, help=f"Old name of {new}.", **kwargs
    )


def _pick(new, old):
    return old if new is None else new


def _runtime_list(ctx, param, value: str | None) -> tuple[str, ...] | None:
    from .export.runtimes import parse_runtimes

    try:
        return None if value is None else parse_runtimes(value)
    except MnistEdgeError as e:
        raise click.BadParameter(str(e)) from None


_runtime_option = click.option(
    "--runtime",
    "runtimes",
    default="onnxruntime",
    show_default=True,
    callback=_runtime_list,
    help="Comma-separated runtimes to check each model in: onnxruntime, reference (onnx.reference), "
    "opencv (OpenCV DNN). A runtime that is not installed is skipped with a note.",
)

_test_images_option = click.option(
    "--test-images",
    type=click.IntRange(1),
    default=None,
    help="Check parity on the first N test images only (reported in parity.first-N.json).",
)


@cli.command()
@_data_option
@click.option(
    "--recipe",
    type=click.Choice(["edge", "best", "pictures", "seed"]),
    default="edge",
    show_default=True,
    help="edge: distortions, cosine schedule, label smoothing, early stopping (≈ 4 min); "
    "best: stronger distortions, 200 epochs of a one-cycle schedule, weight averaging, 3 % printed digits, "
    "10 % non-digits taught as uncertain (most accurate; trains the shipped models; ≈ 25-60 min); pictures: edge + printed digits from training fonts, pen width/blur/noise/broken "
    "strokes, 50 epochs; seed: the classic Keras tutorial (5 epochs, Adam).",
)
@click.option(
    "--out", "out_dir", type=click.Path(path_type=Path), default=DEFAULT_DIR, show_default=True, help="Output folder."
)
@click.option(
    "--epochs", type=click.IntRange(1), default=None, help="Epochs [recipe: edge 40, best 120, pictures 50, seed 5]."
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed for weights, shuffling, distortions and subsampling."
)
@click.option("--hidden", default=None, callback=_hidden_sizes, help="Hidden layer sizes [recipe: 512,512].")
@click.option(
    "--dropout",
    type=click.FloatRange(0, 1, max_open=True),
    default=None,
    help="Dropout rate [recipe: edge 0.25, best 0.2, seed 0.2].",
)
@click.option("--batch-size", type=click.IntRange(1), default=None, help="Batch size [recipe: 128].")
@click.option(
    "--learning-rate",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="Peak learning rate [recipe: edge 2e-3, best 1e-3, seed 1e-3].",
)
@click.option(
    "--train-images",
    type=click.IntRange(1),
    default=None,
    help="Train on a seeded random subset of this many training images.",
)
@_hidden_alias("--limit", "--train-images", type=click.IntRange(1), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON on stdout.")
def train(data, recipe, out_dir, epochs, seed, hidden, dropout, batch_size, learning_rate, train_images, alias_limit,
          as_json):  # fmt: skip
    """Train the MLP and write OUT/model.keras and OUT/metrics.json."""
    from .training import make_config
    from .training import train as run_training

    config = make_config(
        recipe, epochs=epochs, seed=seed, hidden=hidden, dropout=dropout, batch_size=batch_size,
        learning_rate=learning_rate, train_images=_pick(train_images, alias_limit),
    )  # fmt: skip
    verbose = 0 if as_json else (1 if sys.stdout.isatty() else 2)
    metrics = run_training(config, out_dir, data, verbose, command=_command_line())
    if as_json:
        click.echo(_dumps(metrics))
        return
    click.echo(
        f"test accuracy {metrics['test_accuracy']:.2%}  loss {metrics['test_loss']:.4f}  "
        f"({recipe} recipe, {metrics['train_examples']} training images, {metrics['epochs_trained']} epochs, "
        f"{metrics['wall_time_s']:.0f} s)"
    )
    if metrics["best_epoch"] != metrics["epochs_trained"]:
        click.echo(f"the saved model is from epoch {metrics['best_epoch']} (best validation accuracy)")
    click.echo(f"wrote {Path(out_dir) / KERAS_FILE} and {Path(out_dir) / METRICS_FILE}")


@cli.command()
@_data_option
@click.option(
    "--model",
    "model_path",
    type=click.Path(path_type=Path),
    default=f"{DEFAULT_DIR}/{KERAS_FILE}",
    show_default=True,
    help="Keras model to export.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Output folder [default: the model's folder].",
)
@click.option(
    "--quantize",
    type=click.Choice(["static", "dynamic"]),
    is_flag=False,
    flag_value="static",
    default=None,
    help="Also write an int8 model: static (calibrated, the default when the flag is bare) or dynamic.",
)
@click.option(
    "--portable",
    is_flag=True,
    help="Also write model.int8.portable.onnx: int8 in default-domain ONNX ops only, for any ONNX runtime.",
)
@click.option(
    "--calibration-images",
    type=click.IntRange(1),
    default=1000,
    show_default=True,
    help="Training images for static calibration.",
)
@click.option("--no-gate", is_flag=True, help="Write the models even if they fail the parity gate.")
@_hidden_alias("--no-parity", "--no-gate", is_flag=True)
@_test_images_option
@_hidden_alias("--parity-limit", "--test-images", type=click.IntRange(1), default=None)
@_runtime_option
@click.option(
    "--web",
    "web_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the browser page with the new int8 model to DIR (as 'mnist-edge web'); needs --quantize.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
def export(data, model_path, out_dir, quantize, portable, calibration_images, no_gate, alias_no_parity, test_images,
           alias_parity_limit, runtimes, web_dir, as_json):  # fmt: skip
    """Export a Keras model to ONNX (int8 with --quantize, portable int8 with --portable), then check parity."""
    if web_dir is not None:  # checked before TensorFlow loads and the export's minutes, not after
        if not quantize:
            raise click.UsageError("--web needs --quantize: the page runs the int8 model")
        from .web.bundle import check_target

        check_target(web_dir)
    from .export import ExportConfig, format_report
    from .export import export as run_export

    config = ExportConfig(
        quantize,
        calibration_images,
        enforce_gate=not (no_gate or alias_no_parity),
        test_images=_pick(test_images, alias_parity_limit),
        command=_command_line(),
        runtimes=runtimes,
        portable=portable,
    )
    result = run_export(model_path, out_dir or model_path.parent, config, data)
    if web_dir is not None:
        from .web import write_bundle

        result["web"] = write_bundle(web_dir, Path(out_dir or model_path.parent) / INT8_FILE)
    if as_json:
        click.echo(_dumps(result))
        return
    click.echo(format_report(result["parity"]))
    for path in [*result["files"].values(), result["report_file"]]:
        click.echo(f"wrote {path}")
    for path in result["removed"]:
        flag = "--portable" if path.endswith(PORTABLE_FILE) else "--quantize"
        click.echo(f"removed {path} (exported from another Keras model; use {flag} to refresh it)")
    if web_dir is not None:
        _echo_bundle(web_dir, result["web"])


@cli.command()
@_data_option
@click.option(
    "--dir",
    "model_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_DIR,
    show_default=True,
    help="Folder with model.keras and the ONNX models.",
)
@_test_images_option
@_hidden_alias("--limit", "--test-images", type=click.IntRange(1), default=None)
@click.option("--no-speed", is_flag=True, help="Skip the latency and throughput measurements.")
@_runtime_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
def parity(data, model_dir, test_images, alias_limit, no_speed, runtimes, as_json):
    """Compare the ONNX models with the Keras model on the test set, in each runtime; exit 1 if the gate fails."""
    from .export import format_report, run_parity

    report = run_parity(model_dir, data, _pick(test_images, alias_limit), measure_speed=not no_speed, runtimes=runtimes)
    if as_json:
        click.echo(_dumps(report))
    else:
        click.echo(format_report(report))
        click.echo(f"wrote {report['report_file']}")
    if not report["passed"]:
        sys.exit(1)


@cli.command()
@click.argument("images", nargs=-1, required=True)
@click.option(
    "--model", "model_path", type=click.Path(path_type=Path), default=None, help="ONNX model file [default: see above]."
)
@click.option(
    "--top-k", type=click.IntRange(1, 10), default=1, show_default=True, help="Also show the k most likely digits."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per image on stdout.")
@click.option(
    "--threads",
    type=click.IntRange(1, max_threads()),
    default=None,
    help=f"Inference threads, 1 to {max_threads()} (cores x {MAX_THREADS_PER_CORE}) [default: onnxruntime's choice].",
)
@click.option(
    "--verify",
    is_flag=True,
    help="Check the model file against the seal in its model card first (every byte onnxruntime runs).",
)
@click.option(
    "--explain",
    "explain_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Write DIR/<image>.explain.png per image: the picture with the digit's box, the 28x28 the model saw, top 3.",
)
@click.option(
    "--workers",
    type=click.IntRange(1),
    default=None,
    help="Worker processes [default: the CPUs available to this process]; same output, in the same order.",
)
@_verbose_option
def predict(images, model_path, top_k, as_json, threads, verify, explain_dir, workers, verbose):
    """Read the digit, or the number (digits in a row), in each IMAGE (files, directories searched recursively, or globs).

    A picture without a digit prints its reason ("no digit found") and is no failure; exit code 1 only
    for pictures that could not be read.

    Without --model: artifacts/model.int8.onnx, else artifacts/model.onnx, else the pretrained
    model shipped with mnist-edge.
    """
    if verbose:
        _set_verbosity(True)
    from .runtime import format_line, predict_inputs, write_explanation

    paths, outcomes = predict_inputs(
        images, model_path, threads=threads, verify=verify, default_dir=DEFAULT_DIR, workers=workers
    )
    show_bar = not as_json and sys.stderr.isatty() and len(paths) > 20
    failures = 0
    explained: set[str] = set()  # --explain names written in this run
    with click.progressbar(length=len(paths), label="predicting", file=sys.stderr) if show_bar else _NoBar() as bar:
        for path, outcome in outcomes:
            bar.update(1)
            failures += isinstance(outcome, Exception)
            click.echo(format_line(path, outcome, top_k, as_json))
            if explain_dir is not None and not isinstance(outcome, Exception):
                write_explanation(path, outcome, explain_dir, explained)
    sys.exit(1 if failures else 0)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="TCP port.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Server processes.")
@click.option(
    "--model",
    "model_path",
    type=click.Path(path_type=Path),
    default=None,
    help="ONNX model file [default: as predict].",
)
@click.option(
    "--max-body",
    "max_body_bytes",
    type=click.IntRange(1),
    default=None,
    help="Largest request body in bytes; more: 413 [default: 10 MiB].",
)
@click.option(
    "--max-pixels",
    type=click.IntRange(1),
    default=None,
    help="Most pixels (width x height) one picture may declare; more: 413 [default: the runtime's 50,000,000].",
)
@click.option(
    "--max-concurrent",
    type=click.IntRange(1),
    default=None,
    help="Prediction requests handled at once per worker; more: 503 with Retry-After [default: 64].",
)
@click.option(
    "--max-batch-files",
    type=click.IntRange(1),
    default=None,
    help="Pictures in one /predict/batch request; more: 413 [default: 64].",
)
@click.option(
    "--header-timeout",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="Seconds a client has to send the request headers [default: 10].",
)
@click.option(
    "--body-timeout",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="Seconds a client has to send the body after the headers; slower: 408 [default: 10].",
)
@click.option(
    "--keep-alive",
    "keep_alive_timeout",
    type=click.IntRange(1),
    default=None,
    help="Seconds an idle keep-alive connection stays open [default: 5].",
)
@click.option(
    "--shutdown-timeout",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="On SIGTERM, seconds requests in flight get to finish [default: 30].",
)
@click.option(
    "--threads",
    type=click.IntRange(1, max_threads()),
    default=None,
    help="onnxruntime threads per worker [default: 1].",
)
@click.option(
    "--static",
    "static_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder served at / [default: the browser page in mnist_edge/web/static when present].",
)
def serve(host, port, workers, model_path, static_dir, **limits):
    """Serve predictions over HTTP: POST /predict, POST /predict/batch, GET /healthz, /metrics, /model.

    Needs the serve extra: pip install 'mnist-edge[serve]'. Stops on SIGTERM or Ctrl-C after the
    requests in flight finish. The limits are per worker.
    """
    import importlib

    missing = []
    for module in ("starlette", "uvicorn", "httptools", "multipart", "prometheus_client"):
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise MnistEdgeError(
            f"the server needs the serve extra ({', '.join(missing)} missing): pip install 'mnist-edge[serve]'"
        )
    from .serve import Settings
    from .serve import serve as run

    chosen = {k: v for k, v in limits.items() if v is not None}
    if model_path is not None:
        chosen["model"] = str(model_path)
    if static_dir is not None:
        chosen["static_dir"] = str(static_dir)
    settings = Settings(**chosen)
    plural = "s" if workers > 1 else ""
    ready = lambda: click.echo(f"mnist-edge: serving on http://{host}:{port} ({workers} worker{plural})", err=True)  # noqa: E731
    run(settings, host=host, port=port, workers=workers, on_ready=ready)


@cli.command()
@click.argument("out_dir", metavar="DIR", type=click.Path(path_type=Path))
@click.option(
    "--model",
    "model_path",
    type=click.Path(path_type=Path),
    default=None,
    help="ONNX model file [default: as predict].",
)
def web(out_dir, model_path):
    """Write the browser page and a model to DIR: a static bundle any static web host can serve.

    The page runs the model in the browser (onnxruntime-web, WebAssembly), with every file served
    from DIR. Without --model: the model predict would use.
    """
    from .web import write_bundle

    _echo_bundle(out_dir, write_bundle(out_dir, model_path))


def _echo_bundle(out_dir: Path, manifest: dict) -> None:
    size = manifest["total_bytes"] / 1e6
    click.echo(
        f"wrote the web page to {out_dir}/ ({len(manifest['bytes'])} files, {size:.1f} MB): serve it from any static host"
    )


def _command_line() -> str:
    return " ".join(["mnist-edge", *sys.argv[1:]])


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
