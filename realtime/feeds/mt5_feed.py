"""MT5TickFeed: ticks from the terminal (``copy_ticks_from``, then polling ``symbol_info_tick``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from realtime.brokers.base import Quote
from realtime.brokers.mt5_constants import COPY_TICKS_ALL
from realtime.errors import FeedError
from realtime.feeds.base import PollingFeed


class MT5TickFeed(PollingFeed):
    """Poll each symbol every ``interval_s``; yield only ticks newer than the last one seen."""

    name = "mt5"

    def __init__(
        self, mt5: Any, symbols: list[str], since: dt.datetime, interval_s: float = 0.1, batch: int = 10_000
    ):
        self.mt5, self.symbols, self.interval_s, self.batch = mt5, symbols, interval_s, batch
        self._last_msc = {s: int(since.timestamp() * 1000) - 1 for s in symbols}

    def poll(self) -> list[Quote]:
        """New ticks of every symbol since the last poll, oldest first."""
        out: list[Quote] = []
        for s in self.symbols:
            start = dt.datetime.fromtimestamp((self._last_msc[s] + 1) / 1000, dt.UTC)
            rows = self.mt5.copy_ticks_from(s, start, self.batch, COPY_TICKS_ALL)
            if rows is None:
                raise FeedError(f"MT5 copy_ticks_from({s}) failed: {self.mt5.last_error()}")
            for r in rows:
                msc = int(r["time_msc"])
                if msc > self._last_msc[s]:
                    self._last_msc[s] = msc
                    out.append(
                        Quote(
                            s, float(r["bid"]), float(r["ask"]), dt.datetime.fromtimestamp(msc / 1000, dt.UTC)
                        )
                    )
        out.sort(key=lambda q: q.ts)
        return out
