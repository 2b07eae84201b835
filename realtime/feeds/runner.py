"""FeedRunner: feed events -> quotes (paper fills, lag) and closed bars -> signals."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import pandas as pd

from realtime.brokers.base import Quote
from realtime.feeds.base import BarEvent, Feed, QuoteSink
from realtime.feeds.status import FeedStatus
from realtime.inference.bars import LateTickError, RollingBars
from realtime.inference.signals import SignalEngine

log = logging.getLogger(__name__)


class FutureTickError(ValueError):
    """A tick dated further ahead of the wall clock than ``max_tick_future_s``."""


class FeedRunner:
    """Consumes one feed; each event is handled in a worker thread (ledger writes block).

    One bad event must not stop the feed: a late tick (older than the open bar), a tick dated
    ahead of the wall clock (it would make every later real tick "late"; replayed history is
    in the past, so it passes) or an event that fails to apply is dropped, counted in
    ``realtime_feed_dropped_ticks_total`` and logged.
    Only the feed's own stream failing ends the run, and /ready then reports the feed down.
    """

    def __init__(
        self, feed: Feed, desk: QuoteSink, engine: SignalEngine, status: FeedStatus, max_tick_future_s: float
    ):
        self.feed, self.desk, self.engine, self.status = feed, desk, engine, status
        self.max_tick_future_s = max_tick_future_s
        self.bars = RollingBars()

    def handle(self, ev: Quote | BarEvent) -> None:
        """Apply one event synchronously: quotes to the desk, closed bars to the signal engine."""
        if isinstance(ev, BarEvent):
            if ev.symbol in self.engine.symbols:
                self.desk.quote_from_bar(ev.symbol, ev.bar)
                self.engine.on_bar(ev.symbol, ev.bar)
            return
        ahead = (ev.ts - dt.datetime.now(dt.UTC)).total_seconds()
        if ahead > self.max_tick_future_s:
            raise FutureTickError(f"{ev.symbol} tick at {ev.ts.isoformat()} is {ahead:.1f}s in the future")
        closed = None
        if ev.symbol in self.engine.symbols:
            # Rolled first: a late tick raises here, before it can move the quote backwards.
            closed = self.bars.on_tick(ev.symbol, int(ev.ts.timestamp() * 1000), ev.bid, ev.ask)
        self.desk.on_quote(ev)
        if closed is not None:
            self.engine.on_bar(ev.symbol, closed)

    def handle_or_drop(self, ev: Quote | BarEvent) -> bool:
        """``handle``; a late or failing event is dropped, counted and logged. True when applied."""
        try:
            self.handle(ev)
            return True
        except FutureTickError as exc:
            self._drop(ev.symbol, "future")
            log.warning("dropped future tick: %s", exc, extra={"symbol": ev.symbol, "reason": "future"})
        except LateTickError as exc:
            self._drop(ev.symbol, "late")
            log.warning("dropped late tick: %s", exc, extra={"symbol": ev.symbol, "reason": "late"})
        except Exception:
            self._drop(ev.symbol, "error")
            log.exception("dropped a %s event that failed to apply", ev.symbol, extra={"symbol": ev.symbol})
        return False

    def _drop(self, symbol: str, reason: str) -> None:
        self.desk.count_dropped(symbol, reason)  # an unserved symbol under one bounded label

    async def run(self) -> None:
        """Until the feed ends or the task is cancelled; a feed failure is logged, and /ready says so."""
        status = self.status
        status.task = asyncio.current_task()  # /ready asks the task itself (FeedStatus.alive)
        status.running = True
        try:
            async for ev in self.feed.stream():
                await asyncio.to_thread(self.handle_or_drop, ev)
                status.events += 1
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("feed %s failed", self.feed.name)
            status.error = f"{type(exc).__name__}: {exc}"
        finally:
            status.running = False
            status.ended = dt.datetime.now(dt.UTC)


def bar_records(bars: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a bar frame as dicts, oldest first."""
    return bars.sort_values("ts").to_dict("records")
