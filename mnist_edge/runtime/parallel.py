"""Bulk predict on every core: worker processes, results in input order, a bounded number in flight.

    for path, outcome in predict_parallel(paths, workers=4):
        ...   # same (path, Prediction | ImageError) pairs, in the same order, as predict_files

Each worker process loads the model once (an onnxruntime session cannot be pickled or shared), with
one inference thread unless told otherwise: preprocessing dominates, so the cores go to processes.
At most ``ahead`` chunks of ``chunk`` paths are queued or running at any time, so memory stays flat
however large the folder. Workers ignore SIGINT (Ctrl-C reaches the whole process group): the parent
alone decides, terminates the pool and reaps every worker before the KeyboardInterrupt propagates.
On Linux a worker also dies with its parent (PR_SET_PDEATHSIG; under the default fork server that is
the fork server, which exits when this process does), so even a SIGKILLed parent leaves no orphans.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..contract import DEFAULT_DIR
from ..errors import ImageError
from .batch import CHUNK, predict_files
from .inputs import expand_inputs
from .predictor import Prediction, Predictor, default_model_path

MIN_PARALLEL = 32  # fewer pictures than this are predicted in this process
STOP_SECONDS = 10  # a pool that has not stopped after this long is killed (see _stop)
START_METHOD = os.environ.get("MNIST_EDGE_START_METHOD", "forkserver" if sys.platform.startswith("linux") else "spawn")


def available_cpus() -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup CPU quota (v2 or v1) if one is set."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    quota = _cgroup_quota()
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return max(1, cpus)


def _cgroup_quota() -> float | None:
    try:  # cgroup v2: "max 100000" or "200000 100000"
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:  # cgroup v1: quota -1 means no limit
        quota = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        period = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
        return None if quota <= 0 or period <= 0 else quota / period
    except (OSError, ValueError):
        return None


def predict_parallel(
    paths: Sequence[str],
    model: str | os.PathLike | None = None,
    workers: int | None = None,
    chunk: int | None = None,
    ahead: int | None = None,
    threads: int | None = None,
    verify: bool = False,
    predictor: Predictor | None = None,
) -> Iterator[tuple[str, Prediction | Exception]]:
    """Yield ``(path, Prediction)`` or ``(path, ImageError)`` for every path, in input order.

    ``workers`` defaults to :func:`available_cpus`; with one worker (or fewer than ``MIN_PARALLEL``
    paths) everything runs in this process, exactly as :func:`predict_files`. ``chunk``: paths per task (default: up to
    256, smaller for small inputs so that every worker gets several). ``ahead``: tasks in flight
    (default 2 per worker). ``threads``: onnxruntime threads per worker (default 1 with several workers).
    ``predictor``: an already loaded (and verified) ``model``, used when everything runs in this process.
    """
    workers = available_cpus() if workers is None else max(1, workers)
    if len(paths) < MIN_PARALLEL:  # starting workers would cost more than they save
        workers = 1
    if chunk is None:
        chunk = min(CHUNK, math.ceil(len(paths) / (4 * workers)) or 1)
    chunk = max(1, chunk)
    parts = [paths[i : i + chunk] for i in range(0, len(paths), chunk)]
    workers = min(workers, max(1, len(parts)))
    if workers == 1:
        yield from predict_files(predictor or Predictor(model, threads=threads, verify=verify), paths)
        return
    if predictor is not None:
        verify = False  # checked once already, in this process
    ahead = max(workers, ahead or 2 * workers)
    context = multiprocessing.get_context(START_METHOD)
    if START_METHOD == "forkserver":
        context.set_forkserver_preload([__name__])
    pool = context.Pool(workers, _init_worker, (model, threads or 1, verify))
    pending: deque = deque()
    finished = False
    try:
        todo = iter(parts)
        for part in todo:
            pending.append(pool.apply_async(_run, (part,)))
            if len(pending) >= ahead:
                break
        while pending:
            outcomes = pending.popleft().get()
            nxt = next(todo, None)
            if nxt is not None:
                pending.append(pool.apply_async(_run, (nxt,)))
            for path, outcome in outcomes:
                yield path, ImageError(*outcome) if isinstance(outcome, tuple) else outcome
        pool.close()
        pool.join()
        finished = True
    finally:  # also on Ctrl-C, an exception, or a consumer that stops early (GeneratorExit)
        if not finished:
            _stop(pool)


def _stop(pool) -> None:
    """Terminate the pool and reap its workers, giving ``Pool.terminate`` at most STOP_SECONDS.

    Under load CPython's ``terminate`` can wait forever on its task thread, which puts a sentinel
    per worker into a pipe the terminated workers no longer read (seen once, in a test run on a
    loaded machine); then the workers still alive are killed and reaped here, and the stuck thread
    (a daemon) is left behind.
    """
    stopper = threading.Thread(target=pool.terminate, daemon=True)
    stopper.start()
    stopper.join(STOP_SECONDS)
    if stopper.is_alive():
        for worker in getattr(pool, "_pool", []):  # the pool's own processes (no public name), not the caller's
            worker.kill()
            worker.join(STOP_SECONDS)
        return
    pool.join()


_predictor: Predictor | None = None
_init_error: BaseException | None = None


def _init_worker(model, threads: int, verify: bool) -> None:
    global _predictor, _init_error
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    try:
        _predictor = Predictor(model, threads=threads, verify=verify)
    except BaseException as e:  # raised by the first task instead: a failing initializer makes Pool respawn forever
        _init_error = e


def _run(part: Sequence[str]) -> list[tuple[str, Prediction | tuple]]:
    if _init_error is not None:
        raise _init_error
    # ImageError does not survive pickling (its args are the joined message): ship (reason, path)
    return [
        (path, (outcome.reason, outcome.path) if isinstance(outcome, ImageError) else outcome)
        for path, outcome in predict_files(_predictor, part, chunk=len(part))
    ]


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)
    except (OSError, AttributeError):
        pass


def predict_inputs(
    inputs: Sequence[str],
    model: str | os.PathLike | None = None,
    threads: int | None = None,
    verify: bool = False,
    default_dir: str | os.PathLike = DEFAULT_DIR,
    workers: int | None = 1,
) -> tuple[list[str], Iterator[tuple[str, Prediction | Exception]]]:
    """What ``mnist-edge predict`` does: load the model, expand files/folders/globs, predict lazily.

    ``model``: an ONNX file; default ``default_model_path(default_dir)``. Returns the expanded paths
    and an iterator of ``(path, Prediction or error)`` in the same order. ``workers``: processes
    (``None``: the cores available, see ``predict_parallel``); the records are the same.
    """
    model = model or default_model_path(default_dir)
    predictor = Predictor(model, threads=threads, verify=verify)  # also checks the model before any worker starts
    paths = expand_inputs(inputs)
    if workers == 1:
        return paths, predict_files(predictor, paths)
    return paths, predict_parallel(paths, model, workers=workers, threads=threads, predictor=predictor)
