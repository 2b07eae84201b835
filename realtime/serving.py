"""How the service is served: uvicorn options every documented way of running it shares.

``python -m realtime.serving`` (``make serve``, compose, the CLI's ``serve``) runs uvicorn with:

- no proxy headers at the server: uvicorn would trust ``X-Forwarded-For`` from 127.0.0.1 by
  default, and a client behind a local proxy could pick its address per request and so step
  around the per-address limits. The app trusts them only from ``REALTIME_TRUSTED_PROXIES``;
- a deadline for a request's headers: a connection that sends none, or sends them a byte at a
  time, is closed after ``REALTIME_KEEP_ALIVE_S``, as an idle kept-alive one is;
- headers capped at ``REALTIME_MAX_HEADER_BYTES`` (h11 answers 400 beyond) and WebSocket
  messages at ``REALTIME_WS_MAX_MESSAGE_BYTES``.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from realtime.settings import Settings


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's headers.

    uvicorn arms its keep-alive timer only after a response, and any byte disarms it: a fresh
    connection that stays silent, or trickles its headers, is otherwise held forever.
    """

    _deadline: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the headers are in: the request runs
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def uvicorn_options(cfg: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run``/``uvicorn.Config`` from ``cfg``."""
    return {
        "http": GuardedH11Protocol,
        "proxy_headers": False,
        "timeout_keep_alive": cfg.keep_alive_s,
        "h11_max_incomplete_event_size": cfg.max_header_bytes,
        "ws_max_size": cfg.ws_max_message_bytes,
    }


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Run the service (settings from the environment) until interrupted."""
    import uvicorn

    cfg = Settings()  # type: ignore[call-arg]
    uvicorn.run("realtime.main:create_app", factory=True, host=host, port=port, workers=workers,
                **uvicorn_options(cfg))


def main(argv: list[str] | None = None) -> None:
    """``python -m realtime.serving [--host H] [--port P] [--workers N]``."""
    p = argparse.ArgumentParser(prog="python -m realtime.serving", description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    a = p.parse_args(argv)
    serve(a.host, a.port, a.workers)


if __name__ == "__main__":
    main()
