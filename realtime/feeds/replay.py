"""ReplayFeed: stored bars or ticks from the store, at a chosen speed (0 = as fast as possible)."""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

import pandas as pd

from realtime.brokers.base import Quote
from realtime.feeds.base import BarEvent


class ReplayFeed:
    """Merge the symbols' stored history in time order; ``speed`` 60 plays a minute per second."""

    name = "replay"

    def __init__(
        self,
        store: Any,
        symbols: list[str],
        start: dt.date,
        end: dt.date,
        kind: Literal["bars", "ticks"] = "bars",
        speed: float = 0.0,
    ):
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self.store, self.symbols, self.start, self.end = store, symbols, start, end
        self.kind, self.speed = kind, speed

    def _events(self, symbol: str) -> Iterator[tuple[int, Quote | BarEvent]]:
        if self.kind == "bars":
            bars: pd.DataFrame = self.store.read_bars(symbol, self.start, self.end)
            for bar in bars.to_dict("records"):
                # A bar becomes known when it closes, a minute after its open time.
                yield int(pd.Timestamp(bar["ts"]).value // 1_000_000) + 60_000, BarEvent(symbol, bar)
        else:
            ticks = self.store.read_ticks(symbol, self.start, self.end)
            for ts_ms, bid, ask in zip(
                ticks["ts_ms"].tolist(), ticks["bid"].tolist(), ticks["ask"].tolist(), strict=True
            ):
                yield ts_ms, Quote(symbol, bid, ask, dt.datetime.fromtimestamp(ts_ms / 1000, dt.UTC))

    async def stream(self) -> AsyncIterator[Quote | BarEvent]:
        """Events in time order, paced by ``speed``."""
        merged = heapq.merge(*(self._events(s) for s in self.symbols), key=lambda e: e[0])
        prev: int | None = None
        for ts_ms, ev in merged:
            if self.speed and prev is not None and ts_ms > prev:
                await asyncio.sleep((ts_ms - prev) / 1000 / self.speed)
            prev = ts_ms
            yield ev
