"""Hard limits on what mnist-edge reads, and a reader that keeps to them. Standard library only.

Anything read from a user-given path goes through :func:`read_regular_file`: it refuses FIFOs,
devices, sockets and directories (``/dev/zero`` or a named pipe would otherwise hang the process
or read without end, their size reading as 0) and stops at a hard byte cap, whatever the file
claims. The runtime and the training stage both import this module.
"""

from __future__ import annotations

import os
import stat

MAX_MODEL_BYTES = 100 * 1024 * 1024  # an exported model is 0.7 MB (int8) or 2.6 MB (fp32)
MAX_DATA_FILE_BYTES = 128 * 1024 * 1024  # the largest MNIST file, raw training images, is 47 MB
MAX_THREADS_PER_CORE = 4  # --threads accepts 1 ... cores x this


def max_threads() -> int:
    return (os.cpu_count() or 1) * MAX_THREADS_PER_CORE


class FileRefused(OSError):
    """A path that is not a regular file, or a file over its cap; ``reason`` says which, in a few words."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def read_regular_file(path: str | os.PathLike, limit: int) -> bytes:
    """The bytes of the regular file ``path`` (symlinks followed), at most ``limit`` of them.

    Raises FileRefused for a FIFO, device, socket or directory, or a file over ``limit`` bytes
    (checked on the open file, so nothing can be swapped in between), and OSError when it cannot
    be opened. Opening never blocks: a FIFO without a writer is refused, not waited for.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise FileRefused("is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(f"not a regular file (a {_kind(info.st_mode)})")
        if info.st_size > limit:
            raise FileRefused(f"{info.st_size:,} bytes, over the {limit:,}-byte limit")
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:  # it grew while we read
            raise FileRefused(f"over the {limit:,}-byte limit")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"
