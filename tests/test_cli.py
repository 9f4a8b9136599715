"""The CLI's options and early checks, and the library functions it is a thin layer over. No TensorFlow needed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from conftest import BLOCK_HEAVY_IMPORTS, run_cli
from mnist_edge import __version__
from mnist_edge.cli import cli
from mnist_edge.errors import ConfigError
from mnist_edge.runtime import Prediction, expand_inputs, format_line, prediction_record, preprocess
from mnist_edge.training import make_config
from mnist_edge.training.recipes import check_config

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "digits"


def run_without_tensorflow(*args, cwd=None) -> subprocess.CompletedProcess:
    """The CLI in a fresh interpreter where importing TensorFlow, Keras, tf2onnx or onnx raises."""
    script = BLOCK_HEAVY_IMPORTS + textwrap.dedent(
        f"""
        sys.argv = ["mnist-edge", *{list(map(str, args))!r}]
        from mnist_edge.cli import main
        main()
        """
    )
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"mnist-edge, version {__version__}"
    assert __version__ == "0.3.0"


def test_usage_errors_exit_2():
    runner = CliRunner()
    assert runner.invoke(cli, ["train", "--epochs", "0"]).exit_code == 2
    assert runner.invoke(cli, ["predict"]).exit_code == 2
    assert runner.invoke(cli, ["export", "--quantize", "int4"]).exit_code == 2


def test_train_cli_without_data_is_one_line_and_exit_1(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "KERAS_HOME": str(tmp_path), "HOME": str(tmp_path)}
    result = run_cli("train", "--data", tmp_path / "nothing", "--out", tmp_path / "out", env=env)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "no such file or directory" in result.stderr
    assert not (tmp_path / "out" / "model.keras").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--train-images", "1"],
        ["--limit", "1"],  # the 0.1 spelling, a hidden alias
        ["--train-images", "5", "--recipe", "seed"],  # no validation split, still too few
        ["--train-images", "5005"],  # the edge recipe's 5,000 validation images leave 5
    ],
)
def test_too_few_training_images_is_a_one_line_error_before_tensorflow(args, tmp_path):
    result = run_without_tensorflow("train", *args, "--out", tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("mnist-edge: error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "training images" in result.stderr and "Traceback" not in result.stderr


def test_make_config_applies_overrides_and_checks():
    assert make_config("edge", train_images=4000).validation == 400  # shrunk to a tenth of the subset
    assert make_config("seed", epochs=3).epochs == 3
    with pytest.raises(ConfigError, match="leave 0 to train on after a validation split of 1"):
        make_config("edge", train_images=1)


def test_best_recipe_config_is_checked():
    best = make_config("best")
    assert best.ema_momentum == 0.999 and best.schedule == "onecycle" and best.patience is None
    assert make_config("best", epochs=2).replace(ema_momentum=0.0).ema_momentum == 0.0  # EMA switches off
    with pytest.raises(ConfigError, match="do not combine"):
        check_config(best.replace(patience=5))  # early stopping would restore raw weights
    with pytest.raises(ConfigError, match="unknown schedule"):
        check_config(best.replace(schedule="linear"))
    with pytest.raises(ConfigError, match="between 0 and 1"):
        check_config(best.replace(ema_momentum=1.5))


@pytest.mark.parametrize("command", ["train", "export", "parity"])
def test_bad_data_path_is_reported_before_tensorflow_is_imported(command, tmp_path):
    (tmp_path / "model.keras").write_bytes(b"not checked yet")  # present, so the data path is what fails
    (tmp_path / "model.onnx").write_bytes(b"not checked yet")
    location = {
        "train": ["--out", tmp_path],
        "export": ["--model", tmp_path / "model.keras"],
        "parity": ["--dir", tmp_path],
    }
    result = run_without_tensorflow(command, "--data", tmp_path / "no-such-data", *location[command])
    assert result.returncode == 1, result.stderr
    assert "no-such-data: no such file or directory" in result.stderr and "blocked" not in result.stderr


@pytest.mark.parametrize("command", [["export", "--model"], ["parity", "--dir"]])
def test_missing_model_is_reported_before_tensorflow_is_imported(command, tmp_path):
    target = tmp_path / "model.keras" if command[0] == "export" else tmp_path
    result = run_without_tensorflow(*command, target)
    assert result.returncode == 1 and "no such Keras model" in result.stderr, result.stderr


def test_old_option_spellings_are_hidden_aliases():
    for command, old, new in (("train", "--limit", "--train-images"), ("export", "--parity-limit", "--test-images"),
                              ("export", "--no-parity", "--no-gate"), ("parity", "--limit", "--test-images")):  # fmt: skip
        help_text = CliRunner().invoke(cli, [command, "--help"]).output
        assert new in help_text and f"{old} " not in help_text, (command, old)


def test_a_folder_matched_by_a_glob_is_expanded_not_reported(tmp_path):
    (tmp_path / "batch" / "nested").mkdir(parents=True)
    shutil.copy(EXAMPLES / "mnist_test_00000_label_7.png", tmp_path / "batch" / "nested" / "seven.png")
    (tmp_path / "batch" / "nested" / "notes.txt").write_text("not an image")
    (tmp_path / "batch" / "empty").mkdir()
    shutil.copy(EXAMPLES / "mnist_test_00001_label_2.png", tmp_path / "two.png")
    expected = [str(tmp_path / "batch" / "nested" / "seven.png"), str(tmp_path / "two.png")]
    assert expand_inputs([str(tmp_path / "*")]) == expected
    result = run_cli("predict", tmp_path / "*", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a directory" not in result.stdout
    assert [line.split(": ")[1][0] for line in result.stdout.splitlines()] == ["7", "2"]


def test_a_folder_named_explicitly_without_images_is_still_reported(tmp_path):
    assert expand_inputs([str(tmp_path)]) == [str(tmp_path)]
    result = run_cli("predict", tmp_path, cwd=tmp_path)
    assert result.returncode == 1 and "is a directory (with no image files)" in result.stdout


@pytest.mark.parametrize(
    "source", [b"junk", bytearray(b"\x89PNG\r\n\x1a\nbroken"), memoryview(b"GIF89a"), Image.new("HSV", (8, 8))]
)
def test_errors_about_in_memory_images_name_no_object_address(source):
    with pytest.raises(Exception) as err:
        preprocess(source)
    message = str(err.value)
    assert not re.search(r"at 0x[0-9a-f]+", message), message
    if isinstance(source, (bytes, bytearray, memoryview)):
        assert "image bytes" in message


def test_prediction_records_and_lines():
    outcome = Prediction(label=7, confidence=0.9, probabilities=(0.0,) * 7 + (0.9, 0.06, 0.04))
    record = prediction_record("a.png", outcome, top_k=2)
    assert record == {
        "path": "a.png",
        "label": 7,
        "confidence": 0.9,
        "probabilities": list(outcome.probabilities),
        "box": None,
        "digits": "7",
        "reason": None,
        "readings": [{"label": 7, "confidence": 0.9, "probabilities": list(outcome.probabilities), "box": None}],
        "top_k": [{"label": 7, "probability": 0.9}, {"label": 8, "probability": 0.06}],
    }
    assert format_line("a.png", outcome) == "a.png: 7 (0.900)"
    assert format_line("a.png", outcome, top_k=2) == "a.png: 7 (0.900)  7:0.900 8:0.060"
    assert json.loads(format_line("a.png", outcome, as_json=True))["label"] == 7
    error = ConfigError("boom")
    assert prediction_record("b.png", error) == {"path": "b.png", "error": "boom"}
    assert format_line("b.png", error) == "b.png: error: boom"


def readme_predict_examples() -> list[tuple[list[str], list[str]]]:
    """(command, shown output lines) for every ``$ mnist-edge predict`` in README.md's code blocks."""
    examples = []
    for block in re.findall(r"```\n(.*?)```", (ROOT / "README.md").read_text(), re.S):
        current = None
        for line in block.splitlines():
            if line.startswith("$ "):
                current = None
                if line.startswith("$ mnist-edge predict"):
                    current = (line[2:].split()[1:], [])
                    examples.append(current)
            elif current is not None and line.strip():
                current[1].append(line)
    return examples


def test_readme_predict_examples_show_what_the_shipped_model_prints(tmp_path):
    """Run from a folder holding only examples/ (so no artifacts/): the shipped model answers."""
    shutil.copytree(EXAMPLES, tmp_path / "examples" / "digits")
    examples = readme_predict_examples()
    assert len(examples) >= 2
    for args, shown in examples:
        result = run_cli(*args, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        lines = iter(result.stdout.splitlines())
        for expected in shown:
            if expected == "...":
                continue
            assert any(line == expected for line in lines), (args, expected, result.stdout)  # in order
