"""The feed interface: an async stream of quotes (ticks) or closed bars."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from realtime.brokers.base import Quote


@dataclass(frozen=True)
class BarEvent:
    """A closed 1-minute bar (``marketdata.schema.BAR_COLUMNS`` keys) for ``symbol``."""

    symbol: str
    bar: dict[str, Any]


class QuoteSink(Protocol):
    """Where a feed runner delivers quotes (the trading desk): prices, the feed lag, the watch."""

    def on_quote(self, q: Quote) -> None:
        """Take one quote of any symbol (unserved ones are dropped and counted)."""
        ...

    def quote_from_bar(self, symbol: str, bar: dict[str, Any]) -> None:
        """Take a closed bar's close as a quote, where the broker is priced by the feed."""
        ...

    def count_dropped(self, symbol: str, reason: str) -> None:
        """Count one event the runner dropped (late, future, failed to apply)."""
        ...


class Feed(Protocol):
    """Anything that yields Quote (ticks) or BarEvent (closed bars), oldest first."""

    name: str

    def stream(self) -> AsyncIterator[Quote | BarEvent]:
        """The events, until the source ends or the task is cancelled."""
        ...


class PollingFeed:
    """A feed that asks its source for new ticks every ``interval_s``.

    Subclasses implement ``poll()`` (blocking: it runs in a worker thread, off the event loop)
    and set ``interval_s``.
    """

    interval_s: float

    def poll(self) -> list[Quote]:
        """Quotes newer than the last ones seen, oldest first."""
        raise NotImplementedError

    async def stream(self) -> AsyncIterator[Quote]:
        """Ticks until cancelled."""
        while True:
            for q in await asyncio.to_thread(self.poll):
                yield q
            await asyncio.sleep(self.interval_s)
