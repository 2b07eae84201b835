"""The simulator's market data: server time, ticks and rates as the MetaTrader5 module serves them.

A terminal reports every time in its broker's *server time*, written as if it were UTC: a tick
at 10:00 UTC on a server running EET/EEST (UTC+2, UTC+3 in summer) comes back with
``time_msc`` of 12:00 or 13:00 "UTC". Date arguments are read the same way (``timestamp()`` of
the datetime passed, compared with server-time stamps). ``server_tz`` is an IANA zone name, or
``None`` for a server on UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from tests.support.mt5sim.records import RATES_DTYPE, TICK_DTYPE, Tick

COPY_TICKS_ALL, COPY_TICKS_INFO, COPY_TICKS_TRADE = -1, 1, 2
TIMEFRAME_M1, TIMEFRAME_H1, TIMEFRAME_D1 = 1, 16385, 16408


def server_offset_s(server_tz: str | None, utc_s: float) -> int:
    """Seconds the server clock is ahead of UTC at the UTC instant ``utc_s``."""
    if server_tz is None:
        return 0
    off = dt.datetime.fromtimestamp(utc_s, dt.UTC).astimezone(ZoneInfo(server_tz)).utcoffset()
    return int(off.total_seconds()) if off is not None else 0


def timeframe_seconds(timeframe: int) -> int | None:
    """The bar length of an MT5 TIMEFRAME_* value (minutes below 0x4000, hours above); None for
    weeks and months, which the simulator does not build."""
    if 1 <= timeframe <= 30:
        return timeframe * 60
    if 0x4000 < timeframe <= 0x4000 + 24:
        return (timeframe - 0x4000) * 3600
    return None


def as_server_s(value: dt.datetime | int | float) -> float:
    """A date argument as the server-time epoch seconds it names."""
    return value.timestamp() if isinstance(value, dt.datetime) else float(value)


class MarketData:
    """Tick history per symbol, served in server time; mixed into the terminal simulator."""

    server_tz: str | None
    _ticks: dict[str, list[Tick]]

    def symbol_info(self, symbol: str) -> Any: ...

    def _fail(self, code: int, text: str) -> None: ...

    def _stamp(self, t: Tick) -> Tick:
        """``t`` (kept in UTC) as the terminal reports it: in server time."""
        off = server_offset_s(self.server_tz, t.time_msc / 1000)
        return t._replace(time=t.time + off, time_msc=t.time_msc + off * 1000)

    def _server_ticks(self, symbol: str) -> np.ndarray:
        rows = [tuple(self._stamp(t)) for t in self._ticks[symbol]]
        return np.array(rows, dtype=TICK_DTYPE)

    def symbol_info_tick(self, symbol: str) -> Tick | None:
        """The newest tick, or None."""
        if self.symbol_info(symbol) is None or not self._ticks[symbol]:
            return None
        return self._stamp(self._ticks[symbol][-1])

    def copy_ticks_from(
        self, symbol: str, date_from: dt.datetime | int, count: int, flags: int
    ) -> np.ndarray | None:
        """Up to ``count`` ticks at or after ``date_from`` (server time), oldest first."""
        if self.symbol_info(symbol) is None:
            return None
        ticks = self._server_ticks(symbol)
        return ticks[ticks["time_msc"] >= as_server_s(date_from) * 1000][:count]

    def copy_ticks_range(
        self, symbol: str, date_from: dt.datetime | int, date_to: dt.datetime | int, flags: int
    ) -> np.ndarray | None:
        """Ticks with ``date_from <= time_msc <= date_to`` (server time), oldest first."""
        if self.symbol_info(symbol) is None:
            return None
        ticks = self._server_ticks(symbol)
        msc = ticks["time_msc"]
        return ticks[(msc >= as_server_s(date_from) * 1000) & (msc <= as_server_s(date_to) * 1000)]

    def _rates(self, symbol: str, timeframe: int) -> np.ndarray | None:
        """Every bar of ``timeframe`` built from the tick history: bid OHLC, tick count, and the
        bar's lowest spread in points, opened at server-time multiples of the bar length."""
        info = self.symbol_info(symbol)
        if info is None:
            return None
        length = timeframe_seconds(timeframe)
        if length is None:
            self._fail(-2, f"Invalid params: timeframe {timeframe}")
            return None
        ticks = self._server_ticks(symbol)
        if not len(ticks):
            return np.array([], dtype=RATES_DTYPE)
        opens = (ticks["time_msc"] // 1000 // length) * length
        keys, first = np.unique(opens, return_index=True)
        last = np.append(first[1:], len(ticks)) - 1
        bid, spread = ticks["bid"], np.rint((ticks["ask"] - ticks["bid"]) / info.point)
        out = np.zeros(len(keys), dtype=RATES_DTYPE)
        out["time"] = keys
        out["open"], out["close"] = bid[first], bid[last]
        out["high"] = np.maximum.reduceat(bid, first)
        out["low"] = np.minimum.reduceat(bid, first)
        out["tick_volume"] = last - first + 1
        out["spread"] = np.minimum.reduceat(spread, first)
        return out

    def copy_rates_range(
        self, symbol: str, timeframe: int, date_from: dt.datetime | int, date_to: dt.datetime | int
    ) -> np.ndarray | None:
        """Bars opened within ``[date_from, date_to]`` (server time), oldest first."""
        rates = self._rates(symbol, timeframe)
        if rates is None:
            return None
        t = rates["time"]
        return rates[(t >= as_server_s(date_from)) & (t <= as_server_s(date_to))]

    def copy_rates_from_pos(
        self, symbol: str, timeframe: int, start_pos: int, count: int
    ) -> np.ndarray | None:
        """``count`` bars ending ``start_pos`` bars before the newest (0: the one still open)."""
        rates = self._rates(symbol, timeframe)
        if rates is None:
            return None
        end = len(rates) - start_pos
        return rates[max(0, end - count) : max(0, end)]
