"""Bulk predict on several cores: same records as one process, in order; Ctrl-C leaves no process behind."""

from __future__ import annotations

import multiprocessing.pool
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from conftest import MNIST_EDGE
from mnist_edge.photo_like import photo_of_digit
from mnist_edge.runtime.parallel import available_cpus, predict_parallel
from mnist_edge.training.data import load_path


@pytest.fixture(scope="module")
def folder(tmp_path_factory, sample_dir) -> Path:
    """300 MNIST PNGs, 20 photo-like JPEGs, and bad files (garbage, empty, blank picture) in a nested folder."""
    root = tmp_path_factory.mktemp("bulk")
    (root / "sub").mkdir()
    mnist = load_path(sample_dir)
    for i, digit in enumerate(mnist.x_train[:300]):
        Image.fromarray(digit).save(root / f"d{i:03d}.png")
    for i, digit in enumerate(mnist.x_test[:20]):
        photo_of_digit(digit, size=240).save(root / "sub" / f"p{i:02d}.jpg")
    (root / "garbage.png").write_bytes(b"not a picture at all")
    (root / "sub" / "empty.jpg").write_bytes(b"")
    Image.new("L", (28, 28), 0).save(root / "blank.png")
    return root


def _predict(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*MNIST_EDGE, "predict", *args], capture_output=True, text=True, timeout=300, **kwargs)


def test_one_and_two_workers_write_identical_json_lines(folder):
    one = _predict("--json", "--workers", "1", str(folder))
    two = _predict("--json", "--workers", "2", str(folder))
    assert one.returncode == two.returncode == 1  # the bad files are reported, the rest predicted
    lines = one.stdout.splitlines()
    assert len(lines) == 323 and sum('"error"' in line for line in lines) >= 2
    assert two.stdout == one.stdout  # same records, same order, bit-identical probabilities


def test_library_matches_predict_files_and_stops_early_cleanly(folder):
    from mnist_edge.runtime import Predictor
    from mnist_edge.runtime.batch import predict_files

    paths = sorted(str(p) for p in folder.rglob("*") if p.is_file())
    expected = [(p, o if not isinstance(o, Exception) else str(o)) for p, o in predict_files(Predictor(), paths)]
    got = [
        (p, o if not isinstance(o, Exception) else str(o))
        for p, o in predict_parallel(paths, workers=2, chunk=16, ahead=2)
    ]
    assert got == expected
    stream = predict_parallel(paths, workers=2, chunk=16)
    next(stream)
    stream.close()  # the pool is terminated and reaped, not left running
    assert not _children(os.getpid(), exclude_forkserver=True)


def test_a_pool_whose_terminate_hangs_is_killed_and_reaped(folder, monkeypatch):
    from mnist_edge.runtime import parallel

    monkeypatch.setattr(parallel, "STOP_SECONDS", 1)

    def hanging_terminate(pool):  # as CPython's: no more workers started, then stuck on its task thread
        pool._state = pool._worker_handler._state = multiprocessing.pool.TERMINATE
        time.sleep(3600)

    monkeypatch.setattr(multiprocessing.pool.Pool, "terminate", hanging_terminate)
    paths = sorted(str(p) for p in folder.rglob("*") if p.is_file())
    stream = predict_parallel(paths, workers=2, chunk=16)
    next(stream)
    started = time.monotonic()
    stream.close()  # terminate never returns: the workers are killed after STOP_SECONDS
    assert time.monotonic() - started < 30
    time.sleep(0.5)  # none started again behind our back
    assert not _children(os.getpid(), exclude_forkserver=True)


def test_available_cpus_respects_affinity():
    assert 1 <= available_cpus() <= len(os.sched_getaffinity(0))


def test_ctrl_c_stops_every_process(folder):
    # many passes over the folder, so the run lasts long enough to be interrupted
    process = subprocess.Popen(
        [*MNIST_EDGE, "predict", "--json", "--workers", "2", *[str(folder)] * 200],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(_descendants(process.pid)) < 3 and time.monotonic() < deadline:  # forkserver + 2 workers
            time.sleep(0.1)
        family = _descendants(process.pid)
        assert len(family) >= 2, "the workers never started"
        time.sleep(0.5)
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    deadline = time.monotonic() + 10
    while (alive := [pid for pid in family if _alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive, f"orphans left: {alive}"


def _children(pid: int, exclude_forkserver: bool = False) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            if exclude_forkserver and (b"forkserver" in cmdline or b"resource_tracker" in cmdline):
                continue  # multiprocessing keeps one fork server and one resource tracker per process, by design
            found.append(int(entry.name))
    return found


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        for child in _children(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
