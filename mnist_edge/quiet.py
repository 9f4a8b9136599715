"""Silence what C libraries print to file descriptor 2 (TensorFlow's start-up notices, libtiff's
complaints about a damaged file): those say nothing the user's one-line message does not.

Standard library only: the sealed runtime uses it too.
"""

from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def c_stderr_muted():
    """Send file descriptor 2 to /dev/null for the duration (process-wide, so keep it short)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
