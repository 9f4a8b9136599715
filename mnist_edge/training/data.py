"""Load MNIST from IDX files, a Keras-layout ``.npz``, or the Keras cache/download.

Where the data comes from, first match wins:

1. the ``data`` argument (the CLI's ``--data``): a directory of the four IDX
   files (gzip or raw) or a ``.npz`` file with ``x_train, y_train, x_test, y_test``;
2. the environment variable ``MNIST_EDGE_DATA``, same forms;
3. the Keras cache (``$KERAS_HOME/datasets/mnist.npz``, default ``~/.keras``);
4. a download through ``keras.datasets.mnist`` (needs the ``train`` extra).

Every file is checked (magic number, shape, counts, label range) and
fingerprinted with SHA-256 so that metrics and model cards can say exactly which
data a model saw.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError, first_line

ENV_VAR = "MNIST_EDGE_DATA"
IMAGE_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
LABEL_MAGIC = 0x00000801  # unsigned bytes, 1 dimension
IMAGE_SHAPE = (28, 28)
HOW_TO_PROVIDE = (
    f"pass --data DIR_OR_NPZ, set {ENV_VAR} to a directory of the four MNIST IDX files "
    "or to a Keras mnist.npz, or connect to the internet so Keras can download it"
)


@dataclass(frozen=True)
class Mnist:
    """The four MNIST arrays (uint8 images ``[n, 28, 28]``, uint8 labels) and their provenance."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    sha256: dict[str, str] = field(default_factory=dict)

    def provenance(self) -> dict:
        return {"source": self.source, "sha256": dict(self.sha256)}


def load_mnist(data: str | os.PathLike | None = None) -> Mnist:
    """Load MNIST from the first source that applies (see the module docstring)."""
    if data is not None and str(data) != "":
        return load_path(Path(data))
    env = os.environ.get(ENV_VAR)
    if env:
        return load_path(Path(env))
    cached = keras_cache_path()
    if cached.is_file():
        return load_npz(cached)
    return download_with_keras()


def check_source(data: str | os.PathLike | None = None) -> None:
    """Fail fast, before any heavy import: a given ``data`` path (or ``$MNIST_EDGE_DATA``) must exist."""
    given = data if data is not None and str(data) != "" else os.environ.get(ENV_VAR)
    if not given:
        return  # the Keras cache or a download: only loading can tell
    path = Path(given).expanduser()
    if not (path.is_dir() or path.is_file()):
        raise DataError(f"{path}: no such file or directory; {HOW_TO_PROVIDE}")


def load_path(path: Path) -> Mnist:
    """Load a directory of IDX files or a ``.npz`` file."""
    path = path.expanduser()
    if path.is_dir():
        return load_idx_dir(path)
    if path.is_file():
        return load_npz(path)
    raise DataError(f"{path}: no such file or directory; {HOW_TO_PROVIDE}")


# --- IDX -------------------------------------------------------------------------------------

_IDX_STEMS = {
    "x_train": ("train", "images", 3),
    "y_train": ("train", "labels", 1),
    "x_test": ("t10k", "images", 3),
    "y_test": ("t10k", "labels", 1),
}


def idx_candidates(split: str, kind: str, ndim: int) -> list[str]:
    """File names we accept: ``train-images-idx3-ubyte`` and ``train-images.idx3-ubyte``, raw or .gz."""
    names = [f"{split}-{kind}-idx{ndim}-ubyte", f"{split}-{kind}.idx{ndim}-ubyte"]
    return [n + ext for n in names for ext in (".gz", "")]


def find_idx_file(directory: Path, split: str, kind: str, ndim: int) -> Path:
    names = idx_candidates(split, kind, ndim)
    for name in names:
        if (directory / name).is_file():
            return directory / name
    raise DataError(f"{directory}: missing {names[0]} (or {names[1]}, raw or .gz)")


def load_idx_dir(directory: Path) -> Mnist:
    arrays, hashes = {}, {}
    for key, (split, kind, ndim) in _IDX_STEMS.items():
        path = find_idx_file(directory, split, kind, ndim)
        raw = _read_file(path)
        hashes[path.name] = hashlib.sha256(raw).hexdigest()
        arrays[key] = parse_idx(_maybe_gunzip(raw, path), path, ndim)
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if len(x) != len(y):
            raise DataError(
                f"{directory}: {split} images and labels disagree in count ({len(x)} images, {len(y)} labels)"
            )
    return _validated(Mnist(**arrays, source=str(directory.resolve()), sha256=hashes), directory)


def parse_idx(data: bytes, path: Path, ndim: int) -> np.ndarray:
    """Parse an uncompressed IDX file of unsigned bytes with ``ndim`` dimensions."""
    expected_magic = IMAGE_MAGIC if ndim == 3 else LABEL_MAGIC
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise DataError(f"{path}: truncated IDX header ({len(data)} bytes)")
    magic = int.from_bytes(data[:4], "big")
    if magic != expected_magic:
        raise DataError(f"{path}: bad magic number 0x{magic:08x}, expected 0x{expected_magic:08x}")
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if ndim == 3 and dims[1:] != IMAGE_SHAPE:
        raise DataError(f"{path}: images are {dims[1]}x{dims[2]}, expected 28x28")
    count = int(np.prod(dims))
    body = len(data) - header_len
    if body < count:
        raise DataError(f"{path}: truncated, header promises {count} bytes of data but {body} follow")
    if body > count:
        raise DataError(f"{path}: {body - count} unexpected bytes after the data")
    return np.frombuffer(data, dtype=np.uint8, offset=header_len).reshape(dims)


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None


def _maybe_gunzip(raw: bytes, path: Path) -> bytes:
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as e:
        raise DataError(f"{path}: corrupt or truncated gzip ({e})") from None


# --- npz and Keras ---------------------------------------------------------------------------


def load_npz(path: Path) -> Mnist:
    raw = _read_file(path)
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            missing = [k for k in _IDX_STEMS if k not in npz.files]
            if missing:
                raise DataError(f"{path}: missing arrays {', '.join(missing)} (Keras mnist.npz layout expected)")
            arrays = {k: np.asarray(npz[k]) for k in _IDX_STEMS}
    except DataError:
        raise
    except Exception as e:  # numpy raises several types for a damaged archive
        raise DataError(f"{path}: not a readable .npz file ({type(e).__name__}: {e})") from None
    for key, arr in arrays.items():
        want_ndim = 3 if key.startswith("x") else 1
        if arr.dtype != np.uint8 or arr.ndim != want_ndim or (want_ndim == 3 and arr.shape[1:] != IMAGE_SHAPE):
            raise DataError(f"{path}: {key} has dtype {arr.dtype} and shape {arr.shape}, not MNIST's uint8 layout")
    for split in ("train", "test"):
        if len(arrays[f"x_{split}"]) != len(arrays[f"y_{split}"]):
            raise DataError(f"{path}: x_{split} and y_{split} disagree in count")
    digest = hashlib.sha256(raw).hexdigest()
    return _validated(Mnist(**arrays, source=str(path.resolve()), sha256={path.name: digest}), path)


def _validated(m: Mnist, where: Path) -> Mnist:
    for key in ("y_train", "y_test"):
        labels = getattr(m, key)
        if labels.size and labels.max() > 9:
            raise DataError(f"{where}: {key} holds label {int(labels.max())}, expected 0-9")
    if len(m.x_train) == 0 or len(m.x_test) == 0:
        raise DataError(f"{where}: empty training or test set")
    return m


def keras_cache_path() -> Path:
    """Where ``keras.datasets.mnist.load_data()`` keeps its download."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets" / "mnist.npz"


def download_with_keras() -> Mnist:
    try:
        from keras.datasets import mnist as keras_mnist
    except ImportError:
        raise DataError(f"no MNIST data found and Keras is not installed to download it; {HOW_TO_PROVIDE}") from None
    try:
        keras_mnist.load_data()
    except Exception as e:
        raise DataError(f"no MNIST data found and the download failed ({first_line(e)}); {HOW_TO_PROVIDE}") from None
    cached = keras_cache_path()
    if not cached.is_file():  # Keras fell back to another cache folder; look there too
        cached = Path("/tmp/.keras/datasets/mnist.npz")
    return load_npz(cached)


# --- helpers for training --------------------------------------------------------------------


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 ``[n, 28, 28]`` images → float32 ``[n, 784]`` in [0, 1], the models' input."""
    return (images.reshape(len(images), -1).astype(np.float32)) / np.float32(255.0)


def subsample(x: np.ndarray, y: np.ndarray, limit: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random subset of at most ``limit`` examples (all of them when ``limit`` is None)."""
    if limit is None or limit >= len(x):
        return x, y
    idx = np.random.default_rng(seed).permutation(len(x))[:limit]
    idx.sort()
    return x[idx], y[idx]
