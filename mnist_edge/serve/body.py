"""Read a request body within a byte limit and a deadline, and say what kind of upload it is.

A slow client must not hold a request open: the whole body has to arrive within ``timeout``
seconds of the headers (the headers have their own deadline, see ``protocol.py``).
"""

from __future__ import annotations

import asyncio
import sys

RAW_TYPES = (
    "",  # no Content-Type: the bytes are the picture
    "application/octet-stream",
    "application/x-www-form-urlencoded",  # what `curl --data-binary @file` sends unless told otherwise
)
MULTIPART = "multipart/form-data"


class BodyError(Exception):
    """The body cannot be taken: ``status`` (408, 413) and a one-line ``reason``."""

    def __init__(self, status: int, kind: str, reason: str):
        super().__init__(reason)
        self.status, self.kind, self.reason = status, kind, reason


def media_type(headers: list[tuple[bytes, bytes]]) -> str:
    """The Content-Type without its parameters, lower case; "" when there is none."""
    for name, value in headers:
        if name == b"content-type":
            return value.split(b";", 1)[0].strip().lower().decode("latin-1")
    return ""


def is_raw(kind: str) -> bool:
    return kind in RAW_TYPES or kind.startswith("image/")


def declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def read_body(receive, limit: int, timeout: float) -> bytes:
    """The whole body, or BodyError(413) past ``limit`` bytes, BodyError(408) past ``timeout`` seconds."""
    try:
        if sys.version_info >= (3, 11):
            async with asyncio.timeout(timeout):  # a timer handle, no extra task: cheap on the hot path
                return await _read(receive, limit)
        return await asyncio.wait_for(_read(receive, limit), timeout)
    except (asyncio.TimeoutError, TimeoutError):
        raise BodyError(408, "timeout", f"the request body did not arrive within {timeout:g} s") from None


async def _read(receive, limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BodyError(400, "disconnected", "the client closed the connection before the body was complete")
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise BodyError(413, "too_large", f"request body is over the {limit}-byte limit")
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)
