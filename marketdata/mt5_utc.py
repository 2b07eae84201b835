"""UTCTerminal: the MetaTrader5 API with the broker's server time turned into UTC both ways.

A terminal stamps ticks, bars, deals and positions with its server's wall clock written as if
it were UTC, and reads date arguments the same way (see :mod:`marketdata.server_time`). Wrapped
in this proxy, a terminal takes and gives UTC: the live feed, the warm-up bars, the deal
history window and the broker's quote times need no conversion of their own. A batch (ticks,
rates, deals) is converted in the order the server gives it, which settles the autumn hour the
server clock repeats; a single tick inside that hour is read as its first pass.
"""

from __future__ import annotations

import datetime as dt
from collections import namedtuple
from typing import Any

import numpy as np

from marketdata.server_time import server_to_utc_ms, utc_to_server


def _replace(record: Any, change: dict[str, int]) -> Any:
    """``record`` with ``change`` applied; a record type without ``_replace`` becomes a named
    tuple of the same name and fields."""
    if hasattr(record, "_replace"):
        return record._replace(**change)
    data = {**record._asdict(), **change}
    return namedtuple(type(record).__name__, list(data))(**data)


class UTCTerminal:
    """A proxy of ``mt5`` (module, bridge or simulator) whose server clock is ``server_tz``."""

    def __init__(self, mt5: Any, server_tz: str):
        self._mt5, self.server_tz = mt5, server_tz

    def __getattr__(self, name: str) -> Any:
        return getattr(self._mt5, name)

    # conversions --------------------------------------------------------------------------------
    def _arg(self, value: Any) -> Any:
        if isinstance(value, dt.datetime):
            aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
            return utc_to_server(aware, self.server_tz)
        if isinstance(value, int | float) and not isinstance(value, bool):
            when = dt.datetime.fromtimestamp(float(value), dt.UTC)
            return int(utc_to_server(when, self.server_tz).timestamp())
        return value

    def _array(self, rows: np.ndarray | None, seconds: str, msc: str | None) -> np.ndarray | None:
        if rows is None or not len(rows):
            return rows
        out = rows.copy()
        source = out[msc] if msc else out[seconds].astype(np.int64) * 1000
        utc = server_to_utc_ms(source, self.server_tz)
        if msc:
            out[msc] = utc
        out[seconds] = utc // 1000
        return out

    def _records(self, rows: Any, seconds: str, msc: str) -> Any:
        if not rows:
            return rows
        fields = rows[0]._fields
        stamps = [getattr(r, msc) if msc in fields else getattr(r, seconds) * 1000 for r in rows]
        utc = server_to_utc_ms(np.array(stamps, dtype=np.int64), self.server_tz)
        out = []
        for r, u in zip(rows, utc.tolist(), strict=True):
            change = {seconds: u // 1000, **({msc: u} if msc in fields else {})}
            out.append(_replace(r, change))
        return tuple(out)

    # the time-bearing functions -----------------------------------------------------------------
    def symbol_info_tick(self, symbol: str) -> Any:
        """The newest tick, its times in UTC."""
        tick = self._mt5.symbol_info_tick(symbol)
        return None if tick is None else self._records((tick,), "time", "time_msc")[0]

    def copy_ticks_from(self, symbol: str, date_from: Any, count: int, flags: int) -> Any:
        """Ticks from a UTC instant, stamped in UTC."""
        rows = self._mt5.copy_ticks_from(symbol, self._arg(date_from), count, flags)
        return self._array(rows, "time", "time_msc")

    def copy_ticks_range(self, symbol: str, date_from: Any, date_to: Any, flags: int) -> Any:
        """Ticks within a UTC window, stamped in UTC."""
        rows = self._mt5.copy_ticks_range(symbol, self._arg(date_from), self._arg(date_to), flags)
        return self._array(rows, "time", "time_msc")

    def copy_rates_from_pos(self, symbol: str, timeframe: int, start_pos: int, count: int) -> Any:
        """Bars by position, their open times in UTC."""
        return self._array(self._mt5.copy_rates_from_pos(symbol, timeframe, start_pos, count), "time", None)

    def copy_rates_range(self, symbol: str, timeframe: int, date_from: Any, date_to: Any) -> Any:
        """Bars opened within a UTC window, their open times in UTC."""
        rows = self._mt5.copy_rates_range(symbol, timeframe, self._arg(date_from), self._arg(date_to))
        return self._array(rows, "time", None)

    def history_deals_get(self, *args: Any, **kwargs: Any) -> Any:
        """Deals (a UTC window, or by ticket or position), their times in UTC."""
        rows = self._mt5.history_deals_get(*(self._arg(a) for a in args), **kwargs)
        return self._records(rows, "time", "time_msc")

    def positions_get(self, *args: Any, **kwargs: Any) -> Any:
        """Open positions, their opening times in UTC."""
        return self._records(self._mt5.positions_get(*args, **kwargs), "time", "time_msc")
