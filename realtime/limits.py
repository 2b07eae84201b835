"""Request-body size limit as pure ASGI middleware: 413 before an oversized body is parsed."""

from __future__ import annotations

import json
from typing import Any


class BodySizeLimit:
    """Refuse bodies over ``max_bytes``, by Content-Length or while a chunked body streams in."""

    def __init__(self, app: Any, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def _reject(self, send: Any) -> None:
        body = json.dumps({"detail": f"request body larger than {self.max_bytes} bytes"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
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
