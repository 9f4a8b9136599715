"""Exceptions that the CLI turns into one-line messages instead of tracebacks."""

from __future__ import annotations


def first_line(error: BaseException) -> str:
    """A library exception as one line: its message's first line, or its type name when it has none."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class MnistEdgeError(Exception):
    """Base class: an expected failure whose message is meant for the user."""


class DataError(MnistEdgeError):
    """The MNIST data is missing, unreadable or not what it claims to be."""


class ModelError(MnistEdgeError):
    """A model file is missing, unreadable or does not match what we expect."""


class ImageError(MnistEdgeError):
    """An input image cannot be read or holds no digit; names the file when there is one."""

    def __init__(self, reason: str, path: str | None = None):
        self.reason, self.path = reason, path
        super().__init__(f"{path}: {reason}" if path else reason)


class ParityError(MnistEdgeError):
    """An exported model does not behave like the Keras model it came from."""


class ConfigError(MnistEdgeError):
    """Options that cannot work together or with the data (e.g. too few training images)."""


class UsageError(MnistEdgeError, ValueError):
    """An argument out of its range in the Python API (the CLI checks its options itself)."""
