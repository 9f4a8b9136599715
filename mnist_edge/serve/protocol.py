"""uvicorn's httptools protocol with a deadline for the request headers.

uvicorn bounds the idle time between keep-alive requests, not the time a client takes to send the
request line and headers: a client that connects and trickles (or stalls halfway) would hold its
connection forever. Here a timer starts when the connection opens and again when a request's first
byte arrives, and stops when the headers are complete; when it fires the connection is closed.
The body has its own deadline in the app (``body.read_body``).
"""

from __future__ import annotations

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class ServeConfig(uvicorn.Config):
    """uvicorn's Config plus the header deadline (it travels to ``--workers`` processes with the config)."""

    def __init__(self, *args, header_timeout: float = 10.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout


class HeaderDeadlineProtocol(HttpToolsProtocol):
    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.header_timeout = getattr(config, "header_timeout", 10.0)
        self._header_timer = None

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm()  # a client that connects and says nothing

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)
