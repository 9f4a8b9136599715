"""Deterministic fault injection for the crash tests: die at a named point, exactly there.

``crash_point("export:before-publish")`` does nothing unless the environment variable
``MNIST_EDGE_CRASH_AT`` holds that very name; then the process kills itself with SIGKILL, as a
power cut or the OOM killer would, with no chance to clean up. Standard library only.
"""

from __future__ import annotations

import os
import signal

ENV_VAR = "MNIST_EDGE_CRASH_AT"


def crash_point(name: str) -> None:
    if os.environ.get(ENV_VAR) == name:
        os.kill(os.getpid(), signal.SIGKILL)
