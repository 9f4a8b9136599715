"""The whole spine on a small real subset: train → export (fp32 + int8) → parity → predict."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from PIL import Image

from conftest import copy_model_dir, run_cli
from mnist_edge.contract import CARD_KEY, PREPROCESSING_SPEC
from mnist_edge.runtime import Predictor


def test_training_reaches_a_sensible_accuracy_and_records_metrics(trained, mnist_dir):
    m = trained["metrics"]
    assert m["test_accuracy"] > 0.90  # 4000 images, 2 epochs; the full recipe is checked in the demo
    assert m["test_examples"] == 10000 and m["train_examples"] == 4000
    assert m["config"]["epochs"] == 2 and m["config"]["seed"] == 1 and m["config"]["hidden"] == [512, 512]
    assert m["parameters"] == 784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10
    assert sorted(m["data"]["sha256"]) == sorted(
        [
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
        ]
    )
    expected = dict(line.split()[::-1] for line in (mnist_dir / "SHA256SUMS").read_text().splitlines() if line.strip())
    assert m["data"]["sha256"] == expected
    assert {"tensorflow", "keras", "numpy"} <= set(m["versions"])
    on_disk = json.loads((trained["dir"] / "metrics.json").read_text())
    assert on_disk["test_accuracy"] == m["test_accuracy"]


@pytest.mark.slow
def test_seeded_training_is_reproducible(tmp_path, mnist_dir):
    from mnist_edge.training import RECIPES, train
    from mnist_edge.training.keras_env import import_keras

    keras = import_keras()
    config = RECIPES["edge"].replace(epochs=1, seed=7, train_images=600, validation=100, hidden=(32,))
    weights = []
    for run in ("a", "b"):
        train(config, tmp_path / run, mnist_dir, verbose=0)
        weights.append(keras.models.load_model(tmp_path / run / "model.keras").get_weights())
    for w1, w2 in zip(*weights, strict=True):
        np.testing.assert_array_equal(w1, w2)


def test_export_writes_both_models_with_cards_and_passes_parity(exported):
    report = exported["parity"]
    assert report["passed"], report["failures"]
    assert report["test_images"] == 10000
    assert report["models"]["onnx_fp32"]["agreement"] == 1.0
    assert report["models"]["onnx_fp32"]["max_abs_diff"] <= 1e-4
    assert report["models"]["onnx_int8"]["agreement"] >= 0.995
    for name, quantization in (("model.onnx", "none"), ("model.int8.onnx", "int8 static")):
        model = onnx.load(str(exported["dir"] / name))
        assert model.opset_import[0].version >= 17
        assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
        card = json.loads({p.key: p.value for p in model.metadata_props}[CARD_KEY])
        assert card["quantization"].startswith(quantization)
        assert card["preprocessing"]["spec"] == PREPROCESSING_SPEC
        assert card["labels"] == [str(d) for d in range(10)]
        assert len(card["source"]["keras_model_sha256"]) == 64
        assert 0.9 < card["test_accuracy"] <= 1.0
    assert not list(exported["dir"].glob(".*tmp*")), "temporary files left behind"
    report = json.loads((exported["dir"] / "parity.json").read_text())
    assert report["passed"] is True
    diagram = exported["dir"] / report["trust"]["reliability_png"]  # the reliability diagram beside the models
    with Image.open(diagram) as image:
        assert image.format == "PNG" and image.width > 400 and image.height > 200


def test_predictor_reads_the_card_and_batches(exported, mnist):
    predictor = Predictor(exported["dir"] / "model.int8.onnx")
    assert predictor.card["input"]["shape"] == ["batch", 784]
    results = predictor.predict_batch(list(mnist.x_test[:200]))
    accuracy = np.mean([r.label == y for r, y in zip(results, mnist.y_test[:200], strict=True)])
    assert accuracy > 0.9
    assert all(abs(sum(r.probabilities) - 1) < 1e-3 for r in results)


def test_predict_cli_json_on_png_digits(exported, digit_pngs):
    paths = [p for p, _ in digit_pngs]
    result = run_cli("predict", "--json", "--model", exported["dir"] / "model.int8.onnx", *paths)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["path"] for r in records] == [str(p) for p in paths]
    assert all(len(r["probabilities"]) == 10 and isinstance(r["label"], int) for r in records)
    correct = sum(r["label"] == y for r, (_, y) in zip(records, digit_pngs, strict=True))
    assert correct / len(records) > 0.9


def test_predict_defaults_to_int8_in_artifacts_and_reports_bad_files(exported, digit_pngs, tmp_path):
    copy_model_dir(exported["dir"], tmp_path / "artifacts")
    (tmp_path / "notes.png").write_text("not an image")
    good = digit_pngs[0][0]
    result = run_cli("predict", good, "notes.png", "missing.png", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{good}: {digit_pngs[0][1]} (")
    assert lines[1].startswith("notes.png: error: not a readable image")
    assert lines[2].startswith("missing.png: error:")
    assert "Traceback" not in result.stderr


def test_breaking_a_weight_fails_the_parity_gate_and_a_partial_run_keeps_the_full_report(exported, tmp_path):
    broken = copy_model_dir(exported["dir"], tmp_path / "broken")
    full = (exported["dir"] / "parity.json").read_bytes()
    (broken / "parity.json").write_bytes(full)
    model = onnx.load(str(broken / "model.onnx"))
    weights = max(model.graph.initializer, key=lambda t: len(t.raw_data))
    array = onnx.numpy_helper.to_array(weights).copy()
    array[: array.shape[0] // 2] *= 1.5
    weights.CopyFrom(onnx.numpy_helper.from_array(array, weights.name))
    onnx.save(model, str(broken / "model.onnx"))
    result = run_cli("parity", "--dir", broken, "--no-speed", "--test-images", "2000")
    assert result.returncode == 1
    assert "gate: FAILED" in result.stdout and "fp32" in result.stdout
    assert (broken / "parity.json").read_bytes() == full  # a partial run never replaces the full report
    partial = json.loads((broken / "parity.first-2000.json").read_text())
    assert partial["test_images"] == 2000 and not partial["passed"]
    assert f"wrote {broken / 'parity.first-2000.json'}" in result.stdout


def test_failed_gate_keeps_previous_exports(exported, tmp_path, mnist_dir):
    from mnist_edge.errors import ParityError
    from mnist_edge.export import ExportConfig, export
    from mnist_edge.export.parity import Gate

    folder = copy_model_dir(exported["dir"], tmp_path / "keep")
    before = {f.name: f.read_bytes() for f in folder.iterdir()}
    impossible = Gate(int8_min_agreement=1.01)
    config = ExportConfig(quantize="dynamic", gate=impossible, measure_speed=False, test_images=500)
    with pytest.raises(ParityError, match="int8 agrees with Keras"):
        export(folder / "model.keras", folder, config, mnist_dir)
    assert {f.name: f.read_bytes() for f in folder.iterdir()} == before


def test_photo_like_digits_are_recognised_far_better_than_a_plain_resize(exported, mnist):
    from mnist_edge.photo_like import photo_of_digit, plain_resize

    predictor = Predictor(exported["dir"] / "model.onnx")
    picks = range(0, 10000, 50)
    photos = [photo_of_digit(mnist.x_test[i], size=240) for i in picks]
    labels = mnist.y_test[list(picks)]
    ours = np.mean([r.label == y for r, y in zip(predictor.predict_batch(photos), labels, strict=True)])
    plain = np.stack([plain_resize(p) for p in photos])
    naive = np.mean(predictor.probabilities(plain).argmax(axis=1) == labels)
    assert ours > 0.75 and ours > naive + 0.5  # small model here; the full one does ~0.95


@pytest.mark.slow
def test_edge_recipe_trains_on_distorted_digits_and_exports_with_parity(tmp_path, mnist_dir):
    from mnist_edge.export import ExportConfig, export
    from mnist_edge.training import RECIPES, train

    config = RECIPES["edge"].replace(epochs=2, train_images=4000, validation=500)
    metrics = train(config, tmp_path, mnist_dir, verbose=0)
    assert metrics["train_examples"] == 3500 and metrics["validation_examples"] == 500
    assert metrics["config"]["distortion"]["max_rotation"] > 0 and metrics["config"]["schedule"] == "cosine"
    assert metrics["test_accuracy"] > 0.88
    # early stopping restores the best epoch: the metrics describe that epoch, the one saved
    assert 1 <= metrics["best_epoch"] <= metrics["epochs_trained"]
    assert metrics["validation_accuracy"] == metrics["best_validation_accuracy"]
    assert metrics["weights_from"].startswith("best validation epoch")
    assert metrics["parameters"] <= 700_000
    result = export(tmp_path / "model.keras", tmp_path, ExportConfig(quantize="static", measure_speed=False), mnist_dir)
    assert result["parity"]["passed"], result["parity"]["failures"]


@pytest.mark.slow
def test_best_recipe_validates_and_saves_the_averaged_weights(tmp_path, mnist_dir):
    from mnist_edge.training import RECIPES, train
    from mnist_edge.training.data import load_mnist, subsample, to_model_input
    from mnist_edge.training.fit import _split_validation
    from mnist_edge.training.keras_env import import_keras

    config = RECIPES["best"].replace(epochs=1, train_images=2000, validation=300)
    metrics = train(config, tmp_path, mnist_dir, verbose=0)
    used = metrics["config"]
    assert used["schedule"] == "onecycle" and used["ema_momentum"] == 0.999 and used["label_smoothing"] == 0.0
    assert used["distortion"]["max_shift"] == 2.5 and used["distortion"]["max_shear"] == 0.2
    assert metrics["weights_from"].startswith("last epoch, exponential moving average")
    assert metrics["ema_max_abs_difference_from_raw"] > 0  # the averaged weights are not the raw ones
    assert len(metrics["validation_accuracy_by_epoch"]) == 1
    # the saved model holds the averaged weights: its validation loss is the averaged weights' figure
    mnist = load_mnist(mnist_dir)
    x, y = subsample(mnist.x_train, mnist.y_train, config.train_images, config.seed)
    _, _, x_val, y_val = _split_validation(to_model_input(x), y, config.validation, config.seed)
    model = import_keras().models.load_model(tmp_path / "model.keras")
    p = model.predict(x_val, batch_size=1000, verbose=0)
    loss = float(-np.log(np.clip(p[np.arange(len(y_val)), y_val], 1e-7, 1.0)).mean())
    assert loss == pytest.approx(metrics["validation_loss"], abs=1e-6)
    assert loss != pytest.approx(metrics["validation_loss_raw"], abs=1e-6)
    assert metrics["parameters"] <= 700_000


def test_fp32_only_export_removes_an_int8_model_of_another_network(exported, tmp_path, mnist_dir):
    from mnist_edge.export import ExportConfig, export
    from mnist_edge.training import TrainConfig, train

    folder = copy_model_dir(exported["dir"], tmp_path / "stale")
    train(TrainConfig(epochs=1, train_images=1000, hidden=(64,)), folder, mnist_dir, verbose=0)  # a new network
    result = export(folder / "model.keras", folder, ExportConfig(measure_speed=False, test_images=500), mnist_dir)
    assert result["removed"] == [str(folder / "model.int8.onnx")]
    assert not (folder / "model.int8.onnx").exists() and (folder / "model.onnx").exists()
    assert result["report_file"] == str(folder / "parity.first-500.json")  # a partial check: not parity.json
    assert not (folder / "parity.json").exists()


def test_export_web_writes_the_page_with_the_new_int8_model(exported, tmp_path, mnist_dir):
    folder = copy_model_dir(exported["dir"], tmp_path / "models")
    site = tmp_path / "site"
    result = run_cli(
        "export", "--data", mnist_dir, "--model", folder / "model.keras", "--quantize", "--calibration-images", "200",
        "--test-images", "500", "--web", site,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"wrote the web page to {site}/" in result.stdout
    assert (site / "model.int8.onnx").read_bytes() == (folder / "model.int8.onnx").read_bytes()
    assert (site / "index.html").is_file() and (site / "vendor" / "ort-wasm-simd-threaded.wasm").is_file()
