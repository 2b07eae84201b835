"""ReplayFeed: stored bars or ticks from the store, at a chosen speed (0 = as fast as possible)."""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
from collections.abc import AsyncIterator, Iterator
from typing import Literal

import pandas as pd

from marketdata.store import MarketStore
from realtime.brokers.base import Quote
from realtime.feeds.base import BarEvent


def replay_split(
    store: MarketStore, symbols: list[str], start: dt.date | None, warmup: int
) -> pd.Timestamp | None:
    """The first bar time the replay plays; warm-up takes the bars before it, so the feed goes on
    from where warm-up ended instead of jumping back to the first stored day.

    ``start`` (default: the newest stored day) at 00:00 UTC, moved later when a symbol has fewer
    than ``warmup`` stored bars before it. None when nothing is stored.
    """
    days = sorted({d for s in symbols for d in store.days("bars", s)})
    if not days:
        return None
    first = start or days[-1]
    split = pd.Timestamp(first, tz="UTC")
    for symbol in symbols:
        stored = [d for d in store.days("bars", symbol) if d <= first]
        if not stored:
            continue
        # the warm-up needs at most a few days before the split
        bars = store.read_bars(symbol, stored[max(0, len(stored) - 4)], first)
        ts = pd.DatetimeIndex(pd.to_datetime(bars["ts"], utc=True))
        if (ts < split).sum() < warmup and len(ts) > warmup:
            split = max(split, ts[warmup])
    return split


class ReplayFeed:
    """Merge the symbols' stored history in time order; ``speed`` 60 plays a minute per second.
    ``since``: bars that open before it are skipped (warm-up already fed them)."""

    name = "replay"

    def __init__(
        self,
        store: MarketStore,
        symbols: list[str],
        start: dt.date,
        end: dt.date,
        kind: Literal["bars", "ticks"] = "bars",
        speed: float = 0.0,
        since: pd.Timestamp | None = None,
    ):
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self.store, self.symbols, self.start, self.end = store, symbols, start, end
        self.kind, self.speed, self.since = kind, speed, since

    def _events(self, symbol: str) -> Iterator[tuple[int, Quote | BarEvent]]:
        if self.kind == "bars":
            bars: pd.DataFrame = self.store.read_bars(symbol, self.start, self.end)
            if self.since is not None:
                bars = bars[pd.to_datetime(bars["ts"], utc=True) >= self.since]
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
