"""Write files so that a crash never leaves a half-written file under its final name.

One file: ``atomic_path`` / ``write_bytes`` / ``write_json`` (temporary file, then one rename).
A set of files that belong together (the fp32 and int8 models of one export): ``publish_set``
(a version folder, then one symlink switch).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .faults import crash_point


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it onto ``final`` on success.

    The temporary file lives in the same directory, so the rename is atomic on
    POSIX. ``suffix`` lets writers that insist on a file extension (Keras wants
    ``.keras``) keep it. On any exception the temporary file is removed and the
    previous ``final`` file, if any, is left untouched.
    """
    tmp = temp_beside(final, suffix)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def temp_beside(final: str | os.PathLike, suffix: str = "") -> Path:
    """Create an empty hidden temporary file next to ``final``, with the usual file permissions."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=f".tmp{suffix}", dir=final.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(name, 0o666 & ~umask)  # mkstemp makes 0600; final files should look like any other
    return Path(name)


def write_bytes(final: str | os.PathLike, data: bytes) -> None:
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)


def write_json(final: str | os.PathLike, obj) -> None:
    write_bytes(final, (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode())


def _fsync(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


# --- a set of files published as one ------------------------------------------------------------

VERSIONS_DIR = ".versions"
CURRENT_LINK = "current"


def publish_set(out_dir: str | os.PathLike, staged: dict[str, Path], names: tuple[str, ...], keep: int = 2) -> Path:
    """Publish ``staged`` (final name → temporary file in ``out_dir``) as one set; return its folder.

    Layout: every version is a folder ``out_dir/.versions/<id>/``; ``out_dir/current`` is a
    symlink to the live one, and each name in ``names`` is a relative symlink ``out_dir/<name>
    → current/<name>``. Publishing writes the new folder, then switches ``current`` with one
    atomic rename: a reader, or a crash at any point, sees the old set or the new set, never a
    mix. A name of ``names`` that ``staged`` lacks is absent from the new set (its link dangles,
    so it reads as missing). Loose files left under those names by an older mnist-edge are first
    moved into a version of their own, unchanged. The last ``keep`` versions are kept.
    """
    out_dir = Path(out_dir)
    versions = out_dir / VERSIONS_DIR
    versions.mkdir(parents=True, exist_ok=True)
    _adopt_loose_files(out_dir, names)
    crash_point("publish:adopted")

    new = versions / _version_id()
    building = versions / f".{new.name}.tmp"
    building.mkdir()
    for name, tmp in staged.items():
        _fsync(tmp)
        os.replace(tmp, building / name)
    os.replace(building, new)
    _fsync_dir(versions)
    crash_point("publish:version-written")

    for name in names:  # links that already exist point into current/ and stay as they are
        _ensure_link(out_dir / name, f"{CURRENT_LINK}/{name}")
    crash_point("publish:linked")
    _switch(out_dir / CURRENT_LINK, f"{VERSIONS_DIR}/{new.name}")
    crash_point("publish:switched")
    _prune(versions, keep, new.name)
    return new


def _adopt_loose_files(out_dir: Path, names: tuple[str, ...]) -> None:
    """Turn regular files under ``names`` into links to the same content inside a version folder."""
    loose = [n for n in names if (out_dir / n).is_file() and not (out_dir / n).is_symlink()]
    if not loose:
        return
    current = out_dir / CURRENT_LINK
    if current.is_dir():  # a loose file shadows the live one's copy: it is what readers saw
        target = current.resolve()
        for name in loose:
            if not _same_file(out_dir / name, target / name):
                _copy_atomic(out_dir / name, target / name)
    else:
        target = out_dir / VERSIONS_DIR / _version_id()
        building = target.parent / f".{target.name}.tmp"
        building.mkdir()
        for name in loose:
            _copy(out_dir / name, building / name)
        os.replace(building, target)
        _switch(current, f"{VERSIONS_DIR}/{target.name}")
    for name in loose:  # each name keeps its content while it turns into a link
        _switch(out_dir / name, f"{CURRENT_LINK}/{name}")
        crash_point("publish:adopting")


def _version_id() -> str:
    """Sortable by time (nanoseconds), unique by a random suffix."""
    now = time.time_ns()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now // 1_000_000_000))
    return f"{stamp}.{now % 1_000_000_000:09d}-{secrets.token_hex(4)}"


def _switch(link: Path, target: str) -> None:
    """Point the symlink ``link`` at ``target`` with one atomic rename."""
    tmp = link.parent / f".{link.name}.{secrets.token_hex(4)}.tmp"
    os.symlink(target, tmp)
    try:
        os.replace(tmp, link)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(link.parent)


def _ensure_link(path: Path, target: str) -> None:
    if not (path.is_symlink() and os.readlink(path) == target):
        _switch(path, target)


def _prune(versions: Path, keep: int, live: str) -> None:
    """Delete version folders but the live one and the ``keep - 1`` newest others."""
    others = sorted((p.name for p in versions.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True)
    keep_ids = {live, *[name for name in others if name != live][: max(keep - 1, 0)]}
    for p in versions.iterdir():
        if p.name not in keep_ids and p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)  # same content, no copy; the loose name is replaced by a link next
    except OSError:
        shutil.copy2(src, dst)
        _fsync(dst)


def _copy_atomic(src: Path, dst: Path) -> None:
    tmp = temp_beside(dst)
    try:
        shutil.copyfile(src, tmp)
        _fsync(tmp)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
