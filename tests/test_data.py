"""The MNIST loader on good and damaged files, and how it picks its source."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest

from mnist_edge.training.data import ENV_VAR, DataError, load_mnist, load_path


def copy_sample(sample_dir, dst, raw=False, dotted=False):
    dst.mkdir(parents=True, exist_ok=True)
    for f in sample_dir.glob("*.gz"):
        name = f.name[:-3] if raw else f.name
        if dotted:
            name = name.replace("-idx", ".idx")
        if raw:
            (dst / name).write_bytes(gzip.decompress(f.read_bytes()))
        else:
            shutil.copy(f, dst / name)
    return dst


def test_reads_gzip_idx_with_shapes_counts_and_hashes(sample_dir):
    m = load_path(sample_dir)
    assert m.x_train.shape == (300, 28, 28) and m.x_train.dtype == np.uint8
    assert m.x_test.shape == (100, 28, 28) and m.y_test.shape == (100,)
    assert m.y_test[:5].tolist() == [7, 2, 1, 0, 4]  # the well-known first test labels
    assert len(m.sha256) == 4 and all(len(h) == 64 for h in m.sha256.values())


@pytest.mark.parametrize("raw,dotted", [(True, False), (False, True), (True, True)])
def test_raw_and_dotted_spellings_give_the_same_arrays(sample_dir, tmp_path, raw, dotted):
    reference = load_path(sample_dir)
    m = load_path(copy_sample(sample_dir, tmp_path / "d", raw=raw, dotted=dotted))
    np.testing.assert_array_equal(m.x_train, reference.x_train)
    np.testing.assert_array_equal(m.y_test, reference.y_test)


def save_npz(m, path):
    np.savez(path, x_train=m.x_train, y_train=m.y_train, x_test=m.x_test, y_test=m.y_test)
    return path


def test_reads_keras_layout_npz(sample_dir, tmp_path):
    reference = load_path(sample_dir)
    m = load_path(save_npz(reference, tmp_path / "mnist.npz"))
    np.testing.assert_array_equal(m.x_test, reference.x_test)
    assert list(m.sha256) == ["mnist.npz"]


def test_argument_beats_environment_beats_keras_cache(sample_dir, tmp_path, monkeypatch):
    reference = load_path(sample_dir)
    cache = tmp_path / "keras" / "datasets"
    cache.mkdir(parents=True)
    save_npz(reference, cache / "mnist.npz")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert load_mnist().source.endswith("mnist.npz")  # only the cache is left
    monkeypatch.setenv(ENV_VAR, str(sample_dir))
    assert load_mnist().source == str(sample_dir.resolve())
    other = copy_sample(sample_dir, tmp_path / "other")
    assert load_mnist(other).source == str(other.resolve())


@pytest.mark.export
def test_offline_without_data_says_how_to_provide_it(tmp_path, monkeypatch):
    """No --data, no env var, empty Keras cache, and Keras's download fails as it does offline."""
    from mnist_edge.training.keras_env import import_keras

    import_keras()
    from keras.datasets import mnist as keras_mnist

    def no_network():
        raise Exception("URL fetch failure on https://example.invalid/mnist.npz: None -- [Errno -3]")

    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # empty cache
    monkeypatch.setattr(keras_mnist, "load_data", no_network)
    with pytest.raises(DataError) as err:
        load_mnist()
    message = str(err.value)
    assert "download failed" in message and "--data" in message and ENV_VAR in message
    assert "\n" not in message


def write_gz(path, payload: bytes):
    path.write_bytes(gzip.compress(payload))


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    return magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape) + array.tobytes()


def damaged(sample_dir, tmp_path, name: str, payload: bytes | None = None, raw_bytes: bytes | None = None):
    d = copy_sample(sample_dir, tmp_path / "bad")
    if raw_bytes is not None:
        (d / name).write_bytes(raw_bytes)
    else:
        write_gz(d / name, payload)
    return d


def test_truncated_gzip_names_the_file(sample_dir, tmp_path):
    good = (sample_dir / "train-images-idx3-ubyte.gz").read_bytes()
    d = damaged(sample_dir, tmp_path, "train-images-idx3-ubyte.gz", raw_bytes=good[: len(good) // 2])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: corrupt or truncated gzip"):
        load_path(d)


def test_wrong_magic_names_the_file(sample_dir, tmp_path):
    labels = np.zeros(100, np.uint8)
    d = damaged(sample_dir, tmp_path, "t10k-labels-idx1-ubyte.gz", idx_bytes(labels, 0x00000803))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: bad magic number 0x00000803"):
        load_path(d)


def test_truncated_body_names_the_file(sample_dir, tmp_path):
    images = np.zeros((100, 28, 28), np.uint8)
    d = damaged(sample_dir, tmp_path, "t10k-images-idx3-ubyte.gz", idx_bytes(images, 0x803)[:-50])
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz: truncated"):
        load_path(d)


def test_mismatched_counts_are_refused(sample_dir, tmp_path):
    d = damaged(sample_dir, tmp_path, "t10k-labels-idx1-ubyte.gz", idx_bytes(np.zeros(99, np.uint8), 0x801))
    with pytest.raises(DataError, match=r"100 images, 99 labels"):
        load_path(d)


def test_label_out_of_range_is_refused(sample_dir, tmp_path):
    d = damaged(sample_dir, tmp_path, "t10k-labels-idx1-ubyte.gz", idx_bytes(np.full(100, 12, np.uint8), 0x801))
    with pytest.raises(DataError, match="label 12"):
        load_path(d)


def test_missing_file_and_missing_path(sample_dir, tmp_path):
    d = copy_sample(sample_dir, tmp_path / "partial")
    (d / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="missing train-labels-idx1-ubyte"):
        load_path(d)
    with pytest.raises(DataError, match="no such file or directory"):
        load_path(tmp_path / "nowhere")


def test_npz_with_wrong_layout_is_refused(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, x_train=np.zeros((3, 28, 28), np.uint8))
    with pytest.raises(DataError, match="missing arrays y_train"):
        load_path(path)
    path.write_bytes(b"not a zip at all")
    with pytest.raises(DataError, match="not a readable .npz"):
        load_path(path)
