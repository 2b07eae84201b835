"""FeedRunner: feed events -> quotes (paper fills, lag) and closed bars -> signals."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import pandas as pd

from realtime.bars import RollingBars
from realtime.brokers.base import Quote
from realtime.feeds.base import BarEvent, Feed

log = logging.getLogger(__name__)


class FeedRunner:
    """Consumes one feed; each event is handled in a worker thread (ledger writes block)."""

    def __init__(self, svc: Any, feed: Feed):
        self.svc, self.feed, self.bars = svc, feed, RollingBars()
        self.events = 0

    def handle(self, ev: Quote | BarEvent) -> None:
        """Apply one event synchronously."""
        svc = self.svc
        if isinstance(ev, BarEvent):
            if ev.symbol in svc.engine.symbols:
                svc.quote_from_bar(ev.symbol, ev.bar)
                svc.engine.on_bar(ev.symbol, ev.bar)
            return
        svc.on_quote(ev)
        if ev.symbol in svc.engine.symbols:
            ts_ms = int(ev.ts.timestamp() * 1000)
            bar = self.bars.on_tick(ev.symbol, ts_ms, ev.bid, ev.ask)
            if bar is not None:
                svc.engine.on_bar(ev.symbol, bar)

    async def run(self) -> None:
        """Until the feed ends or the task is cancelled; a feed failure is logged, and /ready says so."""
        status = self.svc.feed_status
        try:
            async for ev in self.feed.stream():
                await asyncio.to_thread(self.handle, ev)
                self.events += 1
                status["events"] = self.events
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("feed %s failed", self.feed.name)
            status["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            status["running"] = False
            status["ended"] = dt.datetime.now(dt.UTC).isoformat()


def bar_records(bars: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a bar frame as dicts, oldest first."""
    return bars.sort_values("ts").to_dict("records")
