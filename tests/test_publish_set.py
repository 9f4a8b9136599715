"""Issue 14, item 13: the models of one export are published as one set, atomically.

A process killed (SIGKILL, from ``mnist_edge.faults``) at any point of ``files.publish_set``
leaves the files under their final names entirely old or entirely new, never a mix.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_edge.faults import ENV_VAR
from mnist_edge.files import VERSIONS_DIR, publish_set, temp_beside

pytestmark = pytest.mark.runtime

NAMES = ("model.onnx", "model.int8.onnx")
POINTS = ("publish:adopting", "publish:adopted", "publish:version-written", "publish:linked", "publish:switched")

PUBLISH = """
import sys
from pathlib import Path
from mnist_edge.files import publish_set, temp_beside
out, tag = Path(sys.argv[1]), sys.argv[2]
staged = {}
for name in sys.argv[3:]:
    staged[name] = temp_beside(out / name)
    staged[name].write_text(f"{tag} {name}")
publish_set(out, staged, names=("model.onnx", "model.int8.onnx"))
"""


def _publish(out: Path, tag: str, names=NAMES, crash_at: str | None = None) -> int:
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    if crash_at:
        env[ENV_VAR] = crash_at
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-c", PUBLISH, str(out), tag, *names], env=env, timeout=60).returncode


def _state(out: Path) -> tuple[str | None, ...]:
    return tuple((out / n).read_text().split()[0] if (out / n).exists() else None for n in NAMES)


@pytest.mark.parametrize("legacy", [False, True], ids=["versioned", "loose-files"])
@pytest.mark.parametrize("point", POINTS)
def test_killed_anywhere_the_set_is_all_old_or_all_new(tmp_path, point, legacy):
    out = tmp_path / "artifacts"
    out.mkdir()
    if legacy:  # files written by mnist-edge 0.1: regular files under the final names
        for name in NAMES:
            (out / name).write_text(f"old {name}")
    else:
        assert _publish(out, "old") == 0
    rc = _publish(out, "new", crash_at=point)
    assert rc in (0, -signal.SIGKILL)
    state = _state(out)
    assert state in (("old", "old"), ("new", "new")), (point, state)
    assert _publish(out, "newer") == 0  # and the next export repairs nothing by hand
    assert _state(out) == ("newer", "newer")


def test_layout_and_pruning(tmp_path):
    out = tmp_path / "artifacts"
    for tag in ("a", "b", "c", "d"):
        staged = {}
        for name in NAMES:
            staged[name] = temp_beside(out / name)
            staged[name].write_text(f"{tag} {name}")
        live = publish_set(out, staged, names=NAMES)
    assert _state(out) == ("d", "d")
    for name in NAMES:
        assert (out / name).is_symlink() and os.readlink(out / name) == f"current/{name}"
    assert (out / "current").resolve() == live.resolve()
    versions = [p for p in (out / VERSIONS_DIR).iterdir()]
    assert len(versions) == 2  # the live set and the one before it
    assert not [p for p in out.iterdir() if ".tmp" in p.name]


def test_a_set_without_int8_hides_the_old_int8(tmp_path):
    out = tmp_path / "artifacts"
    assert _publish(out, "old") == 0
    assert _publish(out, "new", names=("model.onnx",)) == 0
    assert _state(out) == ("new", None)  # the link dangles: reads as missing, predict falls back to fp32
    from mnist_edge.runtime.predictor import default_model_path

    assert default_model_path(out, shipped=False) == out / "model.onnx"
