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
import math
import os
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError, first_line
from ..limits import MAX_DATA_FILE_BYTES, FileRefused, read_regular_file

ENV_VAR = "MNIST_EDGE_DATA"
IMAGE_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
LABEL_MAGIC = 0x00000801  # unsigned bytes, 1 dimension
IMAGE_SHAPE = (28, 28)
MAX_ITEMS = {"train": 60_000, "t10k": 10_000}  # MNIST's sizes: an IDX header declaring more is refused
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
    if not (path.is_dir() or path.exists()):
        raise DataError(f"{path}: no such file or directory; {HOW_TO_PROVIDE}")


def load_path(path: Path) -> Mnist:
    """Load a directory of IDX files or a ``.npz`` file."""
    path = path.expanduser()
    if path.is_dir():
        return load_idx_dir(path)
    if path.exists():  # a FIFO or device is refused by the reader, with that reason
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
        if (directory / name).exists():  # not only regular files: anything else is refused by name when read
            return directory / name
    raise DataError(f"{directory}: missing {names[0]} (or {names[1]}, raw or .gz)")


def load_idx_dir(directory: Path) -> Mnist:
    arrays, hashes = {}, {}
    for key, (split, kind, ndim) in _IDX_STEMS.items():
        path = find_idx_file(directory, split, kind, ndim)
        raw = _read_file(path)
        hashes[path.name] = hashlib.sha256(raw).hexdigest()
        arrays[key] = parse_idx(raw, path, ndim, MAX_ITEMS[split])
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if len(x) != len(y):
            raise DataError(
                f"{directory}: {split} images and labels disagree in count ({len(x)} images, {len(y)} labels)"
            )
    return _validated(Mnist(**arrays, source=str(directory.resolve()), sha256=hashes), directory)


def parse_idx(data: bytes, path: Path, ndim: int, max_items: int | None = None) -> np.ndarray:
    """Parse an IDX file of unsigned bytes with ``ndim`` dimensions, raw or gzip-compressed.

    The header is read first and checked against the MNIST layout (magic number, 28x28, at most
    ``max_items`` items); a gzip stream is then inflated up to the declared size plus one byte and
    no further, so a small ``.gz`` that would inflate to gigabytes (a gzip bomb) costs nothing.
    """
    stream = gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb") if data[:2] == b"\x1f\x8b" else io.BytesIO(data)
    try:
        with stream:
            header_len = 4 + 4 * ndim
            header = stream.read(header_len)
            dims = _check_idx_header(header, path, ndim, max_items)
            count = math.prod(dims)
            body = stream.read(count + 1)
    except (EOFError, OSError, zlib.error) as e:
        raise DataError(f"{path}: corrupt or truncated gzip ({first_line(e)})") from None
    if len(body) < count:
        raise DataError(f"{path}: truncated, header promises {count} bytes of data but {len(body)} follow")
    if len(body) > count:
        raise DataError(f"{path}: unexpected bytes after the {count} bytes of data the header promises")
    return np.frombuffer(body, dtype=np.uint8, count=count).reshape(dims)


def _check_idx_header(header: bytes, path: Path, ndim: int, max_items: int | None) -> tuple[int, ...]:
    expected_magic = IMAGE_MAGIC if ndim == 3 else LABEL_MAGIC
    if len(header) < 4 + 4 * ndim:
        raise DataError(f"{path}: truncated IDX header ({len(header)} bytes)")
    magic = int.from_bytes(header[:4], "big")
    if magic != expected_magic:
        raise DataError(f"{path}: bad magic number 0x{magic:08x}, expected 0x{expected_magic:08x}")
    dims = tuple(int.from_bytes(header[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if ndim == 3 and dims[1:] != IMAGE_SHAPE:
        raise DataError(f"{path}: images are {dims[1]}x{dims[2]}, expected 28x28")
    if max_items is not None and dims[0] > max_items:
        raise DataError(f"{path}: header declares {dims[0]} items, MNIST has at most {max_items}")
    return dims


def _read_file(path: Path) -> bytes:
    try:
        return read_regular_file(path, MAX_DATA_FILE_BYTES)
    except FileRefused as e:
        raise DataError(f"{path}: {e.reason}; expected an MNIST data file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None


# --- npz and Keras ---------------------------------------------------------------------------


def load_npz(path: Path) -> Mnist:
    raw = _read_file(path)
    _check_npz_sizes(raw, path)
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


def _check_npz_sizes(raw: bytes, path: Path) -> None:
    """Refuse before inflating: each array's declared uncompressed size must fit MNIST's layout."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            infos = {info.filename: info for info in archive.infolist()}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise DataError(f"{path}: not a readable .npz file ({first_line(e)})") from None
    for key in _IDX_STEMS:
        info = infos.get(f"{key}.npy")
        if info is None:
            continue  # reported as missing below
        split = "train" if key.endswith("train") else "t10k"
        limit = (
            MAX_ITEMS[split] * (IMAGE_SHAPE[0] * IMAGE_SHAPE[1] if key.startswith("x") else 1) + 4096
        )  # + .npy header
        if info.file_size > limit:
            raise DataError(f"{path}: {key} inflates to {info.file_size:,} bytes, more than MNIST's {limit:,}")


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
