"""NatsTickFeed: ticks from a NATS subject, JSON ``{"symbol","ts_ms","bid","ask"}`` per message.

Several replicas can subscribe to one subject, so one upstream feed serves them all.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator

import nats
from nats.aio.msg import Msg

from realtime.brokers.base import Quote
from realtime.errors import FeedError

log = logging.getLogger(__name__)


def parse_tick(data: bytes) -> Quote:
    """A Quote from one message; FeedError naming what is wrong otherwise."""
    try:
        m = json.loads(data)
        bid, ask = float(m["bid"]), float(m["ask"])
        ts = dt.datetime.fromtimestamp(int(m["ts_ms"]) / 1000, dt.UTC)
        symbol = str(m["symbol"]).upper()
    except (ValueError, KeyError, TypeError) as exc:
        raise FeedError(f"bad tick message {data[:80]!r}: {exc}") from exc
    if not 0 < bid <= ask:
        raise FeedError(f"bad tick message {data[:80]!r}: need 0 < bid <= ask")
    return Quote(symbol, bid, ask, ts)


class NatsTickFeed:
    """Subscribe to ``subject`` (wildcards allowed) on ``url``; bad messages are logged and skipped."""

    name = "nats"

    def __init__(self, url: str, subject: str, queue_size: int = 10_000):
        self.url, self.subject, self.queue_size = url, subject, queue_size
        self.bad_messages = 0

    async def stream(self) -> AsyncIterator[Quote]:
        """Quotes as they arrive, until cancelled."""
        nc = await nats.connect(self.url, connect_timeout=2)
        q: asyncio.Queue[bytes] = asyncio.Queue(self.queue_size)

        async def _cb(msg: Msg) -> None:
            if q.full():
                q.get_nowait()  # shed the oldest tick rather than stall the bus
            q.put_nowait(msg.data)

        sub = await nc.subscribe(self.subject, cb=_cb)
        try:
            while True:
                data = await q.get()
                try:
                    yield parse_tick(data)
                except FeedError as exc:
                    self.bad_messages += 1
                    log.warning("%s", exc)
        finally:
            await sub.unsubscribe()
            await nc.drain()
