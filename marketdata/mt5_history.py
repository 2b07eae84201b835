"""MT5HistorySource: a broker's own ticks (``copy_ticks_range``) and bars (``copy_rates_range``).

Any object with the MetaTrader5 module's API serves: the module itself on Windows, an
:class:`~marketdata.mt5_bridge.MT5Bridge` elsewhere. A UTC day is asked for in the server's
time (see :mod:`marketdata.server_time`) and handed back in UTC, so that the lake holds the
quotes the desk will trade on the same clock as every other source. MT5 ticks carry no
bid/ask sizes: both volumes are 0. MT5 bars are bid prices with the spread in points; the ask
side is bid plus that spread. Bars are keyed by server time, so on a server whose clock steps
back an hour in autumn that hour's bars hold both passes; the ticks of that day do not merge.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import numpy as np
import pandas as pd

from marketdata.errors import DatafeedUnavailableError, MarketDataError
from marketdata.schema import BAR_COLUMNS, TICK_COLUMNS
from marketdata.server_time import server_to_utc_ms, utc_to_server
from marketdata.sources import day_bounds_ms, empty_ticks

log = logging.getLogger(__name__)
COPY_TICKS_ALL = -1
TIMEFRAME_M1 = 1
UNKNOWN_SYMBOL = -4  # last_error() code of a symbol the terminal does not know


class MT5HistorySource:
    """Ticks and 1-minute bars of one UTC day from an MT5 terminal whose server clock is ``server_tz``."""

    def __init__(self, mt5: Any, server_tz: str = "UTC", login: dict[str, Any] | None = None):
        self.mt5, self.server_tz, self._login = mt5, server_tz, login or {}
        self._ready = False

    def _connect(self) -> None:
        if not self._ready:
            if not self.mt5.initialize(**self._login):
                raise DatafeedUnavailableError(f"MT5 initialize failed: {self.mt5.last_error()}")
            self._ready = True

    def _window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        return utc_to_server(start, self.server_tz), utc_to_server(
            start + dt.timedelta(days=1), self.server_tz
        )

    def _failed(self, what: str, symbol: str) -> MarketDataError:
        code, text = self.mt5.last_error()
        if code == UNKNOWN_SYMBOL:
            return MarketDataError(f"MT5 does not know symbol {symbol}: {text}")
        self._ready = False  # ask the terminal again next time (a restarted bridge needs it)
        return DatafeedUnavailableError(f"MT5 {what}({symbol}) failed: ({code}, {text!r})")

    def fetch_day(self, symbol: str, day: dt.date) -> pd.DataFrame:
        """All ticks of ``day`` (00:00-24:00 UTC) with ``TICK_COLUMNS``, in UTC ms, sorted."""
        self._connect()
        lo, hi = self._window(day)
        self.mt5.symbol_select(symbol, True)
        rows = self.mt5.copy_ticks_range(symbol, lo, hi, COPY_TICKS_ALL)
        if rows is None:
            raise self._failed("copy_ticks_range", symbol)
        rows = rows[(rows["bid"] > 0) & (rows["ask"] > 0)]
        if not len(rows):
            return empty_ticks()
        ts = server_to_utc_ms(rows["time_msc"], self.server_tz)
        start, end = day_bounds_ms(day)
        keep = (ts >= start) & (ts < end)
        out = pd.DataFrame({"ts_ms": ts[keep], "bid": rows["bid"][keep].astype(np.float64),
                            "ask": rows["ask"][keep].astype(np.float64)})  # fmt: skip
        out["bid_volume"], out["ask_volume"] = 0.0, 0.0
        return out.sort_values("ts_ms", kind="stable", ignore_index=True)[TICK_COLUMNS]

    def fetch_bars(self, symbol: str, day: dt.date) -> pd.DataFrame:
        """The terminal's 1-minute bars opened within ``day`` (UTC), as ``BAR_COLUMNS``."""
        self._connect()
        lo, hi = self._window(day)
        info = self.mt5.symbol_info(symbol)
        if info is None:
            raise self._failed("symbol_info", symbol)
        rates = self.mt5.copy_rates_range(symbol, TIMEFRAME_M1, lo, hi - dt.timedelta(seconds=1))
        if rates is None:
            raise self._failed("copy_rates_range", symbol)
        bars = rates_to_bars(rates, float(info.point), server_to_utc_ms(rates["time"] * 1000, self.server_tz))
        start, end = day_bounds_ms(day)
        inside = (bars["ts"] >= pd.Timestamp(start, unit="ms", tz="UTC")) & (
            bars["ts"] < pd.Timestamp(end, unit="ms", tz="UTC")
        )
        return bars[inside].reset_index(drop=True)


def rates_to_bars(rates: np.ndarray, point: float, utc_ms: np.ndarray | None = None) -> pd.DataFrame:
    """MT5 rates (``time, open, high, low, close, tick_volume, spread, real_volume``) as bars;
    ``utc_ms``: the bars' open times in UTC when the server's clock is not UTC."""
    spread = rates["spread"].astype(np.float64) * point
    ts = rates["time"].astype(np.int64) * 1000 if utc_ms is None else np.asarray(utc_ms, dtype=np.int64)
    bars = pd.DataFrame(
        {
            "ts": pd.to_datetime(ts, unit="ms", utc=True),
            "bid_open": rates["open"], "bid_high": rates["high"],
            "bid_low": rates["low"], "bid_close": rates["close"],
            "ask_open": rates["open"] + spread, "ask_high": rates["high"] + spread,
            "ask_low": rates["low"] + spread, "ask_close": rates["close"] + spread,
            "spread_mean": spread, "spread_max": spread,
            "tick_count": rates["tick_volume"].astype(np.int64),
            "bid_volume": 0.0, "ask_volume": 0.0,
        }
    )  # fmt: skip
    return bars[BAR_COLUMNS]
