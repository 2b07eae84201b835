"""DukascopyLiveFeed: polls the Dukascopy JSON chart API for new ticks (dukascopy-python 4.0.1).

Built on ``marketdata.dukascopy_json.DukascopyJsonSource``, which adds the timeout, base URL and
empty-page handling the library lacks. The free API is delayed and rate-limited: this is a
convenience feed for demos and paper trading, not for execution-grade latency.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from marketdata.dukascopy_json import LIBRARY_BASE_URL, DukascopyJsonSource
from realtime.brokers.base import Quote
from realtime.feeds.base import PollingFeed


class DukascopyLiveFeed(PollingFeed):
    """Every ``interval_s``, fetch ticks after the last one seen (starting ``lookback_s`` back)."""

    name = "dukascopy"

    def __init__(
        self,
        symbols: list[str],
        base_url: str = LIBRARY_BASE_URL,
        interval_s: float = 2.0,
        lookback_s: float = 60.0,
        now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.source = DukascopyJsonSource(base_url=base_url, timeout=5.0, max_retries=1)
        self.symbols, self.interval_s, self.now_ms = symbols, interval_s, now_ms
        start = now_ms() - int(lookback_s * 1000)
        self._last = dict.fromkeys(symbols, start - 1)

    def poll(self) -> list[Quote]:
        """New ticks of every symbol since the last poll, oldest first."""
        out: list[Quote] = []
        end = self.now_ms() + 1
        for s in self.symbols:
            ticks = self.source.fetch_ticks(s, self._last[s] + 1, end)
            for ts_ms, bid, ask in zip(
                ticks["ts_ms"].tolist(), ticks["bid"].tolist(), ticks["ask"].tolist(), strict=True
            ):
                if ts_ms > self._last[s]:
                    self._last[s] = ts_ms
                    out.append(Quote(s, bid, ask, dt.datetime.fromtimestamp(ts_ms / 1000, dt.UTC)))
        out.sort(key=lambda q: q.ts)
        return out
