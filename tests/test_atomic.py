"""Atomic writes: a failure mid-write leaves the previous file and no temporary file."""

import pytest

from mnist_edge.files import atomic_path, write_json


def test_failure_keeps_the_previous_file(tmp_path):
    final = tmp_path / "model.bin"
    final.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(final) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("crash")
    assert final.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.bin"]


def test_success_replaces_and_uses_normal_permissions(tmp_path):
    final = tmp_path / "metrics.json"
    write_json(final, {"a": 1})
    assert final.read_text().strip() == '{\n  "a": 1\n}'
    assert final.stat().st_mode & 0o044  # readable by others, unlike mkstemp's 0600
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]
