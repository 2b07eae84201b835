"""MT5TickFeed: ticks from the terminal (``copy_ticks_from``, then polling ``symbol_info_tick``),
and ``recent_bars``: the terminal's last closed 1-minute bars, for warm-up when the store has none.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from marketdata.mt5_history import rates_to_bars
from marketdata.schema import BAR_COLUMNS
from realtime.brokers.base import Quote
from realtime.brokers.mt5_constants import COPY_TICKS_ALL, TIMEFRAME_M1
from realtime.errors import FeedError
from realtime.feeds.base import PollingFeed
from realtime.inference.bars import RollingBars


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


def recent_bars(mt5: Any, symbol: str, count: int, now: dt.datetime | None = None) -> pd.DataFrame:
    """The terminal's newest ``count`` closed 1-minute bars of ``symbol``, oldest first.

    ``copy_rates_from_pos`` when the terminal has it (from position 1: position 0 is the bar
    still open); otherwise the last ``count`` minutes of ticks rolled into bars the way the
    live feed rolls them. Empty when the terminal has nothing.
    """
    if count <= 0:
        return pd.DataFrame(columns=BAR_COLUMNS)
    copy_rates = getattr(mt5, "copy_rates_from_pos", None)
    info = mt5.symbol_info(symbol)
    if copy_rates is not None and info is not None:
        rates = copy_rates(symbol, TIMEFRAME_M1, 1, count)
        if rates is not None and len(rates):
            return rates_to_bars(rates, float(info.point))
    now = now or dt.datetime.now(dt.UTC)
    start = now.replace(second=0, microsecond=0) - dt.timedelta(minutes=count)
    ticks = mt5.copy_ticks_from(symbol, start, 10_000_000, COPY_TICKS_ALL)
    if ticks is None:
        raise FeedError(f"MT5 copy_ticks_from({symbol}) failed: {mt5.last_error()}")
    roll, closed = RollingBars(), []
    cols = (ticks["time_msc"].tolist(), ticks["bid"].tolist(), ticks["ask"].tolist())
    for msc, bid, ask in zip(*cols, strict=True):
        bar = roll.on_tick(symbol, int(msc), float(bid), float(ask))
        if bar is not None:
            closed.append(bar)
    if not closed:
        return pd.DataFrame(columns=BAR_COLUMNS)
    return pd.DataFrame(closed)[BAR_COLUMNS].tail(count).reset_index(drop=True)
