"""Request size limits as pure ASGI middleware: 431 for oversized headers, 413 before an
oversized body is parsed."""

from __future__ import annotations

import json
from typing import Any


class BodySizeLimit:
    """Refuse bodies over ``max_bytes``, by Content-Length or while a chunked body streams in."""

    def __init__(self, app: Any, max_bytes: int, max_header_bytes: int = 16384):
        self.app, self.max_bytes, self.max_header_bytes = app, max_bytes, max_header_bytes

    async def _reject(self, send: Any, status: int = 413) -> None:
        what = "request body" if status == 413 else "request headers"
        limit = self.max_bytes if status == 413 else self.max_header_bytes
        body = json.dumps({"detail": f"{what} larger than {limit} bytes"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            # Servers bound the header block differently (h11 16 KiB, httptools much more);
            # one limit here holds whichever runs the app.
            size = sum(len(n) + len(v) + 4 for n, v in scope.get("headers", ()))
            if size > self.max_header_bytes:
                if scope["type"] == "http":
                    await self._reject(send, 431)
                else:
                    await send({"type": "websocket.close", "code": 1009})
                return
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)  # no body to police: stay off the hot path
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._reject(send)
                return
        seen, started, too_large, replaced = 0, False, False, False

        async def _send(message: dict[str, Any]) -> None:
            nonlocal started, replaced
            if replaced:
                return  # the rest of the app's answer to a body it never fully got
            if too_large and not started and message["type"] == "http.response.start":
                # FastAPI turns any error while reading the body into its own 400; the real
                # reason is the size, so that answer is swapped for the 413.
                started = replaced = True
                await self._reject(send)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        async def _receive() -> dict[str, Any]:
            nonlocal seen, too_large
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    too_large = True
                    raise _TooLarge
            return message

        try:
            await self.app(scope, _receive, _send)
        except _TooLarge:
            if not started:
                await self._reject(send)


class _TooLarge(Exception):
    """Raised into the app from ``receive`` once a streamed body passes the limit."""
