"""Fuzz ``mnist_edge.runtime.preprocess.preprocess`` for a fixed time budget.

    python tests/fuzz/fuzz_preprocess.py --seconds 600 [--max-rss-mib 1024] [--seed 0]

Hypothesis draws the cases: valid images in every format Pillow writes here (PNG, JPEG, GIF,
TIFF, BMP, WebP) and every odd mode (1, L, LA, P, RGB, RGBA, I;16, I, F, CMYK), then mutates
their bytes (flips, overwrites, insertions, truncation, header splices); plus raw random bytes,
random numpy arrays of any dtype and shape, and PIL images passed directly. The only exception
allowed out of ``preprocess`` is ``ImageError``; anything else, a case running past
``--case-seconds``, or peak RSS over ``--max-rss-mib`` fails the run (exit 1). Prints counts.
Not collected by pytest (no ``test_`` prefix); ``tests/test_fuzz_smoke.py`` runs it for 2 s.
"""

from __future__ import annotations

import argparse
import collections
import io
import resource
import signal
import sys
import time
import traceback
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout's mnist_edge, not an installed one

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mnist_edge.errors import ImageError
from mnist_edge.runtime.preprocess import preprocess

FORMATS = ["PNG", "JPEG", "GIF", "TIFF", "BMP", "WEBP"]
MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "I;16", "I", "F", "CMYK"]
SIZES = [(1, 1), (3, 7), (28, 28), (40, 17), (64, 64), (200, 9)]


class Hang(Exception):
    pass


def _seed_image(fmt: str, mode: str, size: tuple[int, int], rng: np.random.Generator) -> bytes | None:
    """A small valid image of ``mode`` saved as ``fmt``; None when Pillow cannot write that pair."""
    w, h = size
    gray = np.full((h, w), 230, np.uint8)
    gray[h // 4 : max(h // 4 + 1, 3 * h // 4), w // 3 : max(w // 3 + 1, 2 * w // 3)] = 20
    gray = np.clip(gray.astype(int) + rng.integers(-10, 10, gray.shape), 0, 255).astype(np.uint8)
    img = Image.fromarray(gray)
    try:
        img = img.convert(mode) if mode not in ("I;16",) else Image.fromarray(gray.astype(np.uint16) * 257, "I;16")
        buf = io.BytesIO()
        img.save(buf, fmt)
        return buf.getvalue()
    except (OSError, ValueError, KeyError, TypeError):
        return None


_SEEDS: list[bytes] = []


def seeds() -> list[bytes]:
    if not _SEEDS:
        rng = np.random.default_rng(0)
        for fmt in FORMATS:
            for mode in MODES:
                for size in SIZES:
                    data = _seed_image(fmt, mode, size, rng)
                    if data:
                        _SEEDS.append(data)
    return _SEEDS


@st.composite
def mutated_bytes(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds())))
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "splice", "repeat"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[i] = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF]))
        elif op == "insert":
            data[i:i] = draw(st.binary(max_size=16))
        elif op == "delete":
            del data[i : i + draw(st.integers(1, 16))]
        elif op == "truncate":
            del data[i:]
        elif op == "splice":  # big numbers into header fields (sizes, counts, offsets)
            data[i : i + 4] = draw(
                st.sampled_from([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff", b"\x00\x01\x00\x00"])
            )
        elif op == "repeat":
            data[i:i] = data[i : i + draw(st.integers(1, 64))] * draw(st.integers(1, 8))
    return bytes(data)


DTYPES = [np.uint8, np.int8, np.uint16, np.int16, np.int32, np.int64, np.float16, np.float32, np.float64, np.bool_]


@st.composite
def arrays(draw) -> np.ndarray:
    shape = draw(
        st.one_of(
            st.sampled_from(
                [
                    (784,),
                    (1, 784),
                    (28, 28),
                    (1, 28, 28),
                    (28, 28, 1),
                    (28, 28, 3),
                    (28, 28, 4),
                    (2, 784),
                    (0,),
                    (0, 0),
                    (1, 1),
                    (1, 100000 // 100),
                    (5, 5, 2),
                    (),
                ]
            ),
            st.lists(st.integers(0, 40), min_size=1, max_size=4).map(tuple),
        )
    )
    dtype = draw(st.sampled_from(DTYPES))
    kind = draw(st.sampled_from(["random", "zeros", "ones", "nan", "inf", "extreme"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = int(np.prod(shape)) if shape else 1
    if n > 200_000:
        shape, n = (28, 28), 784
    if kind == "random":
        a = (rng.random(n) * 300 - 20).astype(dtype) if dtype != np.bool_ else rng.random(n) > 0.5
    elif kind == "zeros":
        a = np.zeros(n, dtype)
    elif kind == "ones":
        a = np.ones(n, dtype)
    elif kind in ("nan", "inf"):
        a = rng.random(n).astype(np.float32)
        a[:: max(1, n // 7)] = np.nan if kind == "nan" else np.inf
        a = a.astype(dtype) if np.issubdtype(dtype, np.floating) else a
    else:
        info = (
            np.finfo(dtype) if np.issubdtype(dtype, np.floating) else (np.iinfo(dtype) if dtype != np.bool_ else None)
        )
        a = np.full(n, info.max if info else True, dtype)
        a[::2] = info.min if info else False
    return a.reshape(shape)


@st.composite
def pil_images(draw) -> Image.Image:
    data = draw(st.sampled_from(seeds()))
    img = Image.open(io.BytesIO(data))
    img.load()
    mode = draw(st.sampled_from(MODES))
    try:
        return img.convert(mode) if mode != "I;16" else img
    except (ValueError, OSError):
        return img


CASES = st.one_of(
    mutated_bytes().map(lambda b: ("bytes", b)),
    st.binary(max_size=512).map(lambda b: ("random-bytes", b)),
    arrays().map(lambda a: ("array", a)),
    pil_images().map(lambda i: ("pil", i)),
)


def peak_rss_mib() -> float:
    """This process's peak RSS. /proc's VmHWM when there is one: ru_maxrss survives exec, so a child
    of a big process (pytest after TensorFlow) would report its parent's peak."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _save(case, save_dir: Path | None, failures: list[str]) -> None:
    """Keep a failing input for reproduction: bytes as-is, arrays as .npy, PIL images as PNG."""
    if save_dir is None:
        return
    save_dir.mkdir(parents=True, exist_ok=True)
    kind, value = case
    stem = save_dir / f"case-{len(failures):03d}-{kind}"
    try:
        if isinstance(value, (bytes, bytearray)):
            stem.with_suffix(".bin").write_bytes(value)
        elif isinstance(value, np.ndarray):
            np.save(stem.with_suffix(".npy"), value)
        else:
            value.save(stem.with_suffix(".png"))
        failures[-1] += f" (saved as {stem.name}.*)"
    except Exception:  # noqa: BLE001 - saving is best effort
        pass


def run(seconds: float, case_seconds: float, max_rss_mib: int, seed: int, save_dir: Path | None = None) -> int:
    warnings.simplefilter("ignore")  # Pillow warns about the damage we make; only exceptions count
    counts: collections.Counter = collections.Counter()
    failures: list[str] = []
    deadline = time.monotonic() + seconds

    def _alarm(signum, frame):
        raise Hang()

    signal.signal(signal.SIGALRM, _alarm)

    @settings(
        max_examples=500, deadline=None, database=None, derandomize=False, suppress_health_check=list(HealthCheck)
    )
    @given(case=CASES)
    def one(case):
        if time.monotonic() > deadline:
            return
        kind, value = case
        counts[kind] += 1
        signal.setitimer(signal.ITIMER_REAL, case_seconds)
        try:
            out = preprocess(value)
            signal.setitimer(signal.ITIMER_REAL, 0)
            if (
                out.shape != (784,)
                or out.dtype != np.float32
                or not np.isfinite(out).all()
                or out.min() < 0
                or out.max() > 1
            ):
                failures.append(f"{kind}: bad output {out.shape} {out.dtype}")
                _save(case, save_dir, failures)
            counts["predicted"] += 1
        except ImageError as e:
            signal.setitimer(signal.ITIMER_REAL, 0)
            counts["ImageError"] += 1
            if "\n" in str(e):
                failures.append(f"{kind}: multi-line ImageError {str(e)[:200]!r}")
        except Hang:
            failures.append(f"{kind}: ran past {case_seconds} s")
            _save(case, save_dir, failures)
        except Exception as e:  # noqa: BLE001 - that is what we are looking for
            signal.setitimer(signal.ITIMER_REAL, 0)
            failures.append(f"{kind}: {type(e).__name__}: {e}\n{traceback.format_exc(limit=4)}")
            _save(case, save_dir, failures)

    seed_count = len(seeds())
    start = time.monotonic()
    rounds = 0
    while time.monotonic() < deadline and len(failures) < 20:
        one()
        rounds += 1
    peak_mib = peak_rss_mib()
    total = counts["bytes"] + counts["random-bytes"] + counts["array"] + counts["pil"]
    print(
        f"fuzz_preprocess: {total} cases in {time.monotonic() - start:.0f} s ({rounds} hypothesis runs, {seed_count} seed images): "
        f"{counts['bytes']} mutated files, {counts['random-bytes']} random byte strings, {counts['array']} arrays, "
        f"{counts['pil']} PIL images → {counts['predicted']} predicted, {counts['ImageError']} ImageError; "
        f"peak RSS {peak_mib:.0f} MiB (cap {max_rss_mib}); {len(failures)} failures"
    )
    for f in failures[:20]:
        print("FAIL", f, file=sys.stderr)
    if peak_mib > max_rss_mib:
        print(f"FAIL peak RSS {peak_mib:.0f} MiB over the {max_rss_mib} MiB cap", file=sys.stderr)
        return 1
    return 1 if failures else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument(
        "--case-seconds", type=float, default=10, help="a single case running longer is a failure (hang)"
    )
    parser.add_argument("--max-rss-mib", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0, help="seed for the seed images (hypothesis itself is random)")
    parser.add_argument("--save-dir", type=Path, default=None, help="write each failing input here")
    args = parser.parse_args(argv)
    return run(args.seconds, args.case_seconds, args.max_rss_mib, args.seed, args.save_dir)


if __name__ == "__main__":
    sys.exit(main())
