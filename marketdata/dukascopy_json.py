"""A second tick/bar source: Dukascopy's JSON chart API through dukascopy-python 4.0.1.

The library hard-codes its base URL, calls ``requests.get`` without a timeout and raises
``IndexError`` when a page after the first comes back empty. This module installs a small
``requests`` shim into the library (once, process-wide) that rewrites the base URL, adds a
timeout and a status check, and turns an empty page into a clean end of data. The shim takes
its settings from a context variable, so sources with different URLs can coexist; outside a
:class:`DukascopyJsonSource` call it only adds a timeout.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import requests

from marketdata.bi5 import CANDLE_COLUMNS
from marketdata.errors import DatafeedUnavailableError, MarketDataError
from marketdata.instruments import get_instrument
from marketdata.schema import TICK_COLUMNS
from marketdata.sources import day_bounds_ms, empty_ticks

log = logging.getLogger(__name__)

LIBRARY_BASE_URL = "https://freeserv.dukascopy.com"
INTERVALS = ("1MIN", "5MIN", "15MIN", "30MIN", "1HOUR", "4HOUR", "1DAY")


class _EndOfData(BaseException):
    """Raised by the shim on an empty page; the library catches only ``Exception``."""


@dataclass(frozen=True)
class _ShimConfig:
    base_url: str
    timeout: float


_config: contextvars.ContextVar[_ShimConfig | None] = contextvars.ContextVar(
    "dukascopy_json_config", default=None
)


class _RequestsShim:
    """Stands in for the ``requests`` module inside ``dukascopy_python``."""

    def get(self, url: str, headers: dict[str, str] | None = None, **kw: Any) -> requests.Response:
        cfg = _config.get() or _ShimConfig(LIBRARY_BASE_URL, 30.0)
        url = url.replace(LIBRARY_BASE_URL, cfg.base_url.rstrip("/"), 1)
        # The library pins Host to freeserv.dukascopy.com: let requests derive it from the URL.
        headers = {k: v for k, v in (headers or {}).items() if k.lower() != "host"}
        resp = requests.get(url, headers=headers, timeout=cfg.timeout, **kw)
        resp.raise_for_status()
        callback = (kw.get("params") or {}).get("jsonp", "")
        text = resp.text.strip().removeprefix(f"{callback}(").removesuffix(");")
        if text.strip() == "[]":
            raise _EndOfData
        return resp


def _library() -> Any:
    import dukascopy_python

    if not isinstance(dukascopy_python.requests, _RequestsShim):
        dukascopy_python.requests = _RequestsShim()
    return dukascopy_python


def json_instrument(symbol: str) -> str:
    """The chart API's name for ``symbol``: ``EURUSD`` -> ``EUR/USD``, ``XAUUSD`` -> ``XAU/USD``."""
    import dukascopy_python.instruments as names

    sym = get_instrument(symbol).symbol
    for key, value in vars(names).items():
        if key.startswith("INSTRUMENT_") and value.replace("/", "").replace(".", "") == sym:
            return value
    if len(sym) == 6 and sym.isalpha():
        return f"{sym[:3]}/{sym[3:]}"
    raise MarketDataError(f"{sym} has no known name in the Dukascopy chart API")


class DukascopyJsonSource:
    """Ticks and bars from the JSON chart API; a :class:`~marketdata.sources.TickSource`."""

    def __init__(
        self,
        base_url: str = LIBRARY_BASE_URL,
        timeout: float = 10.0,
        max_retries: int = 2,
        page_limit: int = 30_000,
    ):
        self.config = _ShimConfig(base_url, timeout)
        self.max_retries = max_retries
        self.page_limit = page_limit

    def _rows(self, symbol: str, interval: str, side: str, start_ms: int, end_ms: int) -> list:
        lib = _library()
        rows: list = []
        token = _config.set(self.config)
        try:
            stream = lib._stream(  # the generator behind fetch(); keeps rows on a clean end
                instrument=json_instrument(symbol),
                interval=interval,
                offer_side=side,
                start=dt.datetime.fromtimestamp(start_ms / 1000, dt.UTC),
                end=dt.datetime.fromtimestamp((end_ms - 1) / 1000, dt.UTC),
                max_retries=self.max_retries,
                limit=self.page_limit,
                logger=log,
            )
            rows.extend(stream)
        except _EndOfData:
            pass
        except (requests.RequestException, ValueError, IndexError) as exc:
            raise DatafeedUnavailableError(
                f"chart API at {self.config.base_url} failed for {symbol} {interval}: {exc}"
            ) from exc
        finally:
            _config.reset(token)
        return [r for r in rows if start_ms <= r[0] < end_ms]

    def fetch_ticks(self, symbol: str, start_ms: int, end_ms: int) -> pd.DataFrame:
        """Ticks with ``start_ms <= ts_ms < end_ms`` and exactly ``TICK_COLUMNS``."""
        rows = self._rows(symbol, "TICK", "B", start_ms, end_ms)
        if not rows:
            return empty_ticks()
        arr = np.asarray(rows, dtype=np.float64)  # [ts, bid, ask, bid_vol, ask_vol]
        scale = get_instrument(symbol).price_scale
        return pd.DataFrame(
            {
                "ts_ms": arr[:, 0].astype(np.int64),
                # the API sends decimal floats: snap them to the instrument's point grid
                "bid": np.round(arr[:, 1] * scale) / scale,
                "ask": np.round(arr[:, 2] * scale) / scale,
                "bid_volume": arr[:, 3],
                "ask_volume": arr[:, 4],
            },
            columns=TICK_COLUMNS,
        ).sort_values("ts_ms", kind="stable", ignore_index=True)

    def fetch_day(self, symbol: str, day: dt.date) -> pd.DataFrame:
        """All ticks of one UTC day."""
        return self.fetch_ticks(symbol, *day_bounds_ms(day))

    def fetch_bars(
        self,
        symbol: str,
        start: dt.datetime,
        end: dt.datetime,
        interval: str = "1MIN",
        side: str = "BID",
    ) -> pd.DataFrame:
        """Bars of one side from ``start`` (inclusive) to ``end`` (exclusive).

        Columns are ``ts_ms, open, high, low, close, volume`` like decoded candle files.
        """
        if interval not in INTERVALS:
            raise ValueError(f"interval must be one of {INTERVALS}, not {interval!r}")
        if side.upper() not in ("BID", "ASK"):
            raise ValueError(f"side must be BID or ASK, not {side!r}")
        lo, hi = (
            int(pd.Timestamp(t).tz_convert("UTC").value // 1_000_000)
            if pd.Timestamp(t).tzinfo
            else int(pd.Timestamp(t).value // 1_000_000)
            for t in (start, end)
        )
        rows = self._rows(symbol, interval, side.upper()[0], lo, hi)
        if not rows:
            return pd.DataFrame(
                {
                    c: pd.Series(dtype=np.int64 if c == "ts_ms" else np.float64)
                    for c in CANDLE_COLUMNS
                }
            )
        arr = np.asarray(rows, dtype=np.float64)
        out = pd.DataFrame(arr[:, 1:6], columns=CANDLE_COLUMNS[1:])
        out.insert(0, "ts_ms", arr[:, 0].astype(np.int64))
        return out
