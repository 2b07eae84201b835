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


class HubFullError(Exception):
    """A WebSocket refused for capacity: ``code`` 1008 (this user's cap) or 1013 (the server's)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


@dataclass(frozen=True)
class Subscriber:
    """Who a WebSocket queue belongs to; ``user_id`` None is an anonymous, signals-only client."""

    user_id: int | None = None
    admin: bool = False


class SignalHub:
    """Per-client bounded queues; a slow client loses its oldest messages, never blocks others.

    At most ``max_per_user`` clients per user and ``max_total`` in all: every open socket holds
    a queue and a send buffer, so an unbounded number of them is an unbounded amount of memory.
    """

    def __init__(self, queue_size: int = 1000, max_per_user: int = 5, max_total: int = 500):
        self.queue_size, self.max_per_user, self.max_total = queue_size, max_per_user, max_total
        self._clients: dict[asyncio.Queue[str], Subscriber] = {}
        self._per_user: dict[int | None, int] = {}
        self.dropped = 0  # messages shed from full queues (slow clients)
        self.refused: dict[str, int] = {"user": 0, "total": 0}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.nats: Any = None  # a connected nats client, when configured
        self.nats_prefix = "alphaforge"
        self._pending: set[asyncio.Future[None]] = set()

    def subscribe(self, who: Subscriber | None = None) -> asyncio.Queue[str]:
        """A new client's queue; :class:`HubFullError` when its user or the server is at the cap."""
        who = who or Subscriber()
        if len(self._clients) >= self.max_total:
            self.refused["total"] += 1
            raise HubFullError(1013, f"too many WebSockets on this server (max {self.max_total})")
        if self._per_user.get(who.user_id, 0) >= self.max_per_user:
            self.refused["user"] += 1
            raise HubFullError(1008, f"too many WebSockets for this user (max {self.max_per_user})")
        q: asyncio.Queue[str] = asyncio.Queue(self.queue_size)
        self._clients[q] = who
        self._per_user[who.user_id] = self._per_user.get(who.user_id, 0) + 1
        return q

    def unsubscribe(self, q: asyncio.Queue[str]) -> None:
        """Forget a client."""
        who = self._clients.pop(q, None)
        if who is not None:
            left = self._per_user.get(who.user_id, 1) - 1
            if left > 0:
                self._per_user[who.user_id] = left
            else:
                self._per_user.pop(who.user_id, None)

    @property
    def clients(self) -> int:
        """Connected clients."""
        return len(self._clients)

    def publish(self, kind: str, payload: dict[str, Any]) -> None:
        """Send ``payload`` to the clients allowed to see it; safe to call from any thread."""
        loop = self.loop
        if loop is None or (not self._clients and self.nats is None):
            # Nobody to tell: no JSON, and no wake-up of the event loop from an order's thread
            # (one per fill). A socket opening meanwhile only sees the events after it.
            return
        text = json.dumps({"type": kind, **payload}, default=str)
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
                self.dropped += 1
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
