"""Turn the bar shapes the engine accepts into bid/ask numpy arrays on a UTC time index.

Three shapes are accepted, checked in this order:

* bid/ask bars (``marketdata.schema.BAR_COLUMNS``): ``bid_open..bid_close``,
  ``ask_open..ask_close``;
* mid bars with a spread: ``open, high, low, close`` (any case) plus ``spread`` in price units,
  so bid = mid - spread/2 and ask = mid + spread/2;
* plain OHLC (``Open/High/Low/Close``, as in backtesting.py's data): mid with zero spread.

The time comes from a ``ts`` column or a DatetimeIndex; naive times are taken as UTC.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.backtest import checks
from ml.backtest.errors import InvalidBarsError

log = logging.getLogger(__name__)

_FIELDS = ("open", "high", "low", "close")


@dataclass(frozen=True)
class BidAskBars:
    """Bars as contiguous float64 arrays, one per side and field, plus their UTC open times."""

    index: pd.DatetimeIndex
    bid: dict[str, np.ndarray]
    ask: dict[str, np.ndarray]
    spread_est: np.ndarray  # typical spread inside each bar, used to attribute intrabar fills

    def __len__(self) -> int:
        return len(self.index)

    @property
    def mid_close(self) -> np.ndarray:
        """The mid price at each bar's close."""
        return 0.5 * (self.bid["close"] + self.ask["close"])


def _time_index(bars: pd.DataFrame) -> pd.DatetimeIndex:
    if "ts" in bars.columns:
        idx = pd.DatetimeIndex(pd.to_datetime(bars["ts"]))
    elif isinstance(bars.index, pd.DatetimeIndex):
        idx = bars.index
    else:
        raise InvalidBarsError("bars need a 'ts' column or a DatetimeIndex")
    if idx.tz is None:
        log.debug("naive bar times taken as UTC")
        idx = idx.tz_localize("UTC")
    idx = idx.tz_convert("UTC")
    ns = idx.asi8
    # NaT is the lowest int64, so in strictly increasing times it could only come first
    if checks.strictly_increasing(ns) and ns[0] != pd.NaT.value:
        return idx
    if idx.hasnans:
        raise InvalidBarsError("bar times contain NaT (missing timestamps)")
    steps = np.diff(ns)
    if (steps == 0).any():
        at = int(np.flatnonzero(steps == 0)[0]) + 1
        raise InvalidBarsError(f"duplicate bar time {idx[at]} at row {at}")
    if (steps < 0).any():
        at = int(np.flatnonzero(steps < 0)[0]) + 1
        raise InvalidBarsError(
            f"bar times must be sorted ascending: row {at} ({idx[at]}) comes before row {at - 1}")
    return idx


def _column(bars: pd.DataFrame, name: str) -> np.ndarray:
    return np.ascontiguousarray(bars[name].to_numpy(dtype=np.float64))


def load_bars(bars: pd.DataFrame) -> BidAskBars:
    """Validate ``bars`` and return its bid/ask arrays; raises :class:`InvalidBarsError`."""
    if not isinstance(bars, pd.DataFrame):
        raise InvalidBarsError(f"bars must be a pandas DataFrame, got {type(bars).__name__}")
    if len(bars) == 0:
        raise InvalidBarsError("bars are empty")
    index = _time_index(bars)
    cols = {c.lower(): c for c in bars.columns}
    if all(f"{s}_{f}" in bars.columns for s in ("bid", "ask") for f in _FIELDS):
        bid = {f: _column(bars, f"bid_{f}") for f in _FIELDS}
        ask = {f: _column(bars, f"ask_{f}") for f in _FIELDS}
    elif all(f in cols for f in _FIELDS):
        mid = {f: _column(bars, cols[f]) for f in _FIELDS}
        if "spread" in cols:
            spread = _column(bars, cols["spread"])
            if (spread < 0).any() or np.isnan(spread).any():
                raise InvalidBarsError("spread must be >= 0 and not NaN")
            bid = {f: mid[f] - spread / 2 for f in _FIELDS}
            ask = {f: mid[f] + spread / 2 for f in _FIELDS}
        else:  # no spread: both sides are the mid itself, shared rather than copied
            bid, ask = mid, mid
    else:
        raise InvalidBarsError(
            "bars need bid_/ask_ open/high/low/close columns, or open/high/low/close "
            f"(optionally with spread); got {list(bars.columns)}"
        )
    sides = (bid,) if bid is ask else (bid, ask)
    if all(checks.side_ok(a["open"], a["high"], a["low"], a["close"]) for a in sides) and (
            bid is ask or checks.not_crossed(bid["open"], bid["close"], ask["open"], ask["close"])):
        return BidAskBars(index=index, bid=bid, ask=ask, spread_est=_spread_est(bars, bid, ask))
    _raise_bad_prices(bid, ask)
    raise AssertionError("unreachable: the compiled and the numpy checks disagree")


def _spread_est(bars: pd.DataFrame, bid: dict[str, np.ndarray],
                ask: dict[str, np.ndarray]) -> np.ndarray:
    if "spread_mean" in bars.columns and np.isfinite(_column(bars, "spread_mean")).all():
        return _column(bars, "spread_mean")
    if bid is ask:
        return np.zeros(len(bars))
    return 0.5 * ((ask["open"] - bid["open"]) + (ask["close"] - bid["close"]))


def _raise_bad_prices(bid: dict[str, np.ndarray], ask: dict[str, np.ndarray]) -> None:
    """Name the first problem with the prices (the compiled checks only say that there is one)."""
    for side, arrays in (("bid", bid), ("ask", ask)):
        for f, arr in arrays.items():
            if not np.isfinite(arr).all():
                bad = int(np.flatnonzero(~np.isfinite(arr))[0])
                raise InvalidBarsError(f"{side}_{f} has NaN or infinite prices (first at row {bad})")
            if not (arr > 0).all():
                bad = int(np.flatnonzero(arr <= 0)[0])
                raise InvalidBarsError(
                    f"{side}_{f} has zero or negative prices (first at row {bad}: {arr[bad]!r})")
        if (arrays["high"] < np.maximum(arrays["open"], arrays["close"]) - 1e-12).any() or (
            arrays["low"] > np.minimum(arrays["open"], arrays["close"]) + 1e-12
        ).any():
            raise InvalidBarsError(f"{side} high/low do not bracket open/close")
    if (ask["open"] < bid["open"]).any() or (ask["close"] < bid["close"]).any():
        raise InvalidBarsError("ask below bid: crossed quotes")
