"""SignalHub: fans each new signal out to WebSocket clients (and NATS when configured).

Signals are public to every authenticated client. Order and fill events are private: a client
gets them only for its own orders, or all of them when it is an admin, as REST shows orders.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

PRIVATE_KINDS = frozenset({"order", "fill"})


@dataclass(frozen=True)
class Subscriber:
    """Who a WebSocket queue belongs to; ``user_id`` None is an anonymous, signals-only client."""

    user_id: int | None = None
    admin: bool = False


class SignalHub:
    """Per-client bounded queues; a slow client loses its oldest messages, never blocks others."""

    def __init__(self, queue_size: int = 1000):
        self.queue_size = queue_size
        self._clients: dict[asyncio.Queue[str], Subscriber] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.nats: Any = None  # a connected nats client, when configured
        self.nats_prefix = "alphaforge"
        self._pending: set[asyncio.Future[None]] = set()

    def subscribe(self, who: Subscriber | None = None) -> asyncio.Queue[str]:
        """A new client's queue."""
        q: asyncio.Queue[str] = asyncio.Queue(self.queue_size)
        who = who or Subscriber()
        self._clients[q] = who
        return q

    def unsubscribe(self, q: asyncio.Queue[str]) -> None:
        """Forget a client."""
        self._clients.pop(q, None)

    @property
    def clients(self) -> int:
        """Connected clients."""
        return len(self._clients)

    def publish(self, kind: str, payload: dict[str, Any]) -> None:
        """Send ``payload`` to the clients allowed to see it; safe to call from any thread."""
        text = json.dumps({"type": kind, **payload}, default=str)
        loop = self.loop
        if loop is None:
            return
        # Every order and fill event names its owner (OrderService puts ``user_id`` in it);
        # one without goes to admins only.
        owner = payload.get("user_id") if kind in PRIVATE_KINDS else None
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._fan_out(kind, payload, text, owner)
        else:
            loop.call_soon_threadsafe(self._fan_out, kind, payload, text, owner)

    def _fan_out(self, kind: str, payload: dict[str, Any], text: str, owner: int | None) -> None:
        private = kind in PRIVATE_KINDS
        for q, who in list(self._clients.items()):
            if private and not who.admin and (owner is None or who.user_id != owner):
                continue
            if q.full():
                q.get_nowait()  # drop the oldest for this slow client
            q.put_nowait(text)
        if self.nats is not None:
            subject = f"{self.nats_prefix}.{kind}s.{payload.get('symbol', 'all')}"
            task = asyncio.ensure_future(self._nats_publish(subject, text.encode()))
            self._pending.add(task)  # keep a reference until done (asyncio holds only weak ones)
            task.add_done_callback(self._pending.discard)

    async def _nats_publish(self, subject: str, data: bytes) -> None:
        try:
            await self.nats.publish(subject, data)
        except Exception:  # a bus outage must not stop signals or fills
            log.exception("NATS publish to %s failed", subject)
