"""Features of a stored day, and the assembly of labelled training frames from the store."""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import math

import numpy as np
import pandas as pd

from marketdata.bars import empty_bars
from marketdata.instruments import get_instrument
from marketdata.store import MarketStore
from ml.errors import MLError
from ml.features import FeatureSet, compute_features, validate_bars
from ml.indicators import atr
from ml.labels import cost_dead_zone, forward_return_labels, triple_barrier_events, uniqueness_weights

log = logging.getLogger(__name__)
BARS_PER_DAY = 1440  # 1-minute bars in a UTC day: the most rows one stored day can hold
# A symbol-year of minutes: the most rows per symbol a training window reads by default.
MAX_ROWS_PER_SYMBOL = 365 * BARS_PER_DAY


def features_for_day(store: MarketStore, symbol: str, day: dt.date, fs: FeatureSet) -> pd.DataFrame:
    """Features of ``day``'s bars, warmed up on the previous stored day's tail (no look-ahead)."""
    prior = [d for d in store.days("bars", symbol) if d < day]
    start = prior[-1] if prior else day
    return _day_rows(compute_features(bars := store.read_bars(symbol, start, day), fs), bars, day)


def _day_rows(feats: pd.DataFrame, bars: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """The rows of ``feats`` (computed on ``bars``, which end with ``day``) that belong to ``day``."""
    # The UTC date of each bar, compared as integers: .dt.date would box every bar (~3 ms a day).
    ts_ns = pd.DatetimeIndex(bars["ts"]).as_unit("ns").asi8
    return feats[ts_ns >= _midnight_ns(day)].reset_index(drop=True)


def _midnight_ns(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days * 86_400 * 10**9


class RangeFeatures:
    """:func:`features_for_day` for the days of a ranged run, reading the bars once.

    The first day asked for a symbol reads that symbol's bars from the stored day before the
    run's first day to its last in one go; each day is then computed on the previous stored day
    and its own bars, as :func:`features_for_day` does: the same warm-up and the same rows,
    without a listing and two Parquet reads per day. A day outside what was read (not one of
    ``days``) falls back to :func:`features_for_day`.
    """

    def __init__(self, store: MarketStore, fs: FeatureSet, days: list[tuple[dt.date, str]]):
        self.store, self.fs = store, fs
        self._wanted: dict[str, list[dt.date]] = {}
        for day, symbol in days:
            self._wanted.setdefault(symbol, []).append(day)
        self._read: dict[str, tuple[list[dt.date], dt.date, dt.date, pd.DataFrame, np.ndarray]] = {}

    def __call__(self, symbol: str, day: dt.date) -> pd.DataFrame:
        """Features of ``day``'s bars, equal to ``features_for_day(store, symbol, day, fs)``."""
        if symbol not in self._wanted:
            return features_for_day(self.store, symbol, day, self.fs)
        if symbol not in self._read:
            self._read[symbol] = self._read_symbol(symbol)
        stored, first, last, bars, ts_ns = self._read[symbol]
        before = bisect.bisect_left(stored, day)
        start = stored[before - 1] if before else day
        if start < first or day > last:
            return features_for_day(self.store, symbol, day, self.fs)
        lo, mid, hi = np.searchsorted(
            ts_ns, [_midnight_ns(start), _midnight_ns(day), _midnight_ns(day + dt.timedelta(days=1))]
        )
        window = empty_bars()
        if hi > lo:
            # A feature at a bar reads only the last `lookback` bars (finite windows counted in
            # bars), so the warm-up day's earlier bars change none of this day's rows: the whole
            # window is validated, as features_for_day does (the same error for a bad bar), and
            # the computation leaves them out (~40% of its rows).
            cut = max(lo, mid - self.fs.lookback)
            if cut > lo:
                validate_bars(bars.iloc[lo:hi])
            window = bars.iloc[cut:hi].reset_index(drop=True)
        return _day_rows(compute_features(window, self.fs), window, day)

    def _read_symbol(self, symbol: str) -> tuple[list[dt.date], dt.date, dt.date, pd.DataFrame, np.ndarray]:
        """The stored days, the span read (from the stored day before the first wanted day to
        the last wanted day), its bars and their open times in ns."""
        stored, wanted = self.store.days("bars", symbol), self._wanted[symbol]
        before = bisect.bisect_left(stored, min(wanted))
        first, last = stored[before - 1] if before else min(wanted), max(wanted)
        bars = self.store.read_bars(symbol, first, last)
        return stored, first, last, bars, pd.DatetimeIndex(bars["ts"]).as_unit("ns").asi8


def bounded_start(store: MarketStore, symbol: str, start: dt.date, end: dt.date,
                  max_rows: int | None) -> dt.date:
    """The first day to read so that ``max_rows`` 1-minute bars of ``symbol`` between ``start``
    and ``end``, rounded up to whole days, are the most read: the last ceil(max_rows / 1440)
    stored feature days."""
    if max_rows is None:
        return start
    if max_rows < 1:
        raise MLError(f"max_rows_per_symbol must be at least 1, not {max_rows}")
    days = [d for d in store.days("features", symbol) if start <= d <= end]
    keep = math.ceil(max_rows / BARS_PER_DAY)
    if len(days) <= keep:
        return start
    log.info("%s: training window capped to the last %d stored days (%s to %s) of %d, at most %d rows",
             symbol, keep, days[-keep], end, len(days), max_rows)
    return days[-keep]


def training_frame(
    store: MarketStore, symbols: list[str], start: dt.date, end: dt.date, fs: FeatureSet,
    horizon: int, label: str = "forward", dead_zone: float = 0.0, barrier_mult: float = 2.0,
    cost_commission_per_lot: float | None = None, max_rows_per_symbol: int | None = MAX_ROWS_PER_SYMBOL,
) -> pd.DataFrame:
    """Stored features joined with labels, ordered by (ts, symbol).

    ``label`` is "forward" (sign of the ``horizon``-bar return, with a dead zone) or
    "triple_barrier" (ATR-scaled take-profit and stop, ``horizon`` bars of time barrier).
    With ``cost_commission_per_lot`` (quote currency, per side) the dead zone widens to at least
    each bar's round-trip spread + commission.

    Every row with finite features is kept, also where the label is NaN (no training target):
    dropping those would make sequence windows skip bars that live serving sees. Columns
    ``label_end`` (the bar time where the label's outcome is decided, for purging) and
    ``weight`` (label uniqueness, for sample weights) come with each row.

    Memory is bounded by ``max_rows_per_symbol`` (None: no bound): a symbol's window is read
    from the most recent stored days that can hold that many bars and no further back, so a
    window of years trains on its latest part instead of loading every day.
    """
    frames = []
    for symbol in symbols:
        first = bounded_start(store, symbol, start, end, max_rows_per_symbol)
        feats = store.read_features(symbol, first, end)
        bars = store.read_bars(symbol, first, end)
        if feats.empty or bars.empty:
            continue
        dz: float | np.ndarray = dead_zone
        if cost_commission_per_lot is not None:
            dz = np.maximum(dead_zone, cost_dead_zone(bars, get_instrument(symbol).contract_size,
                                                      cost_commission_per_lot))
        events = _labels(bars, fs, horizon, label, dz, barrier_mult)
        ts = bars["ts"].to_numpy()
        end_pos = np.arange(len(bars)) + events["end"].to_numpy()
        inside = end_pos < len(bars)
        label_end = pd.Series(pd.NaT, index=bars.index, dtype=bars["ts"].dtype)
        label_end[inside] = ts[end_pos[inside]]
        labelled = events["label"].notna().to_numpy()
        bars = bars.assign(label=events["label"].to_numpy(), label_end=label_end,
                           weight=uniqueness_weights(events["end"].to_numpy(), labelled))
        merged = feats.merge(bars[["ts", "label", "label_end", "weight"]], on="ts", how="inner")
        merged.insert(0, "symbol", symbol)
        frames.append(merged)
    if not frames:
        return pd.DataFrame(columns=["symbol", "ts", *fs.columns, "label", "label_end", "weight"])
    out = pd.concat(frames, ignore_index=True)
    complete = out[fs.columns].notna().all(axis=1) & np.isfinite(out[fs.columns]).all(axis=1)
    return out[complete].sort_values(["ts", "symbol"], kind="stable", ignore_index=True)


def _labels(bars: pd.DataFrame, fs: FeatureSet, horizon: int, kind: str, dead_zone: float | np.ndarray,
            mult: float) -> pd.DataFrame:
    if kind == "forward":
        return pd.DataFrame({"label": forward_return_labels(bars, horizon, dead_zone).to_numpy(),
                             "end": np.full(len(bars), horizon, dtype=np.int64)}, index=bars.index)
    if kind == "triple_barrier":
        mid = ((bars["bid_close"] + bars["ask_close"]) / 2).to_numpy(np.float64)
        high = ((bars["bid_high"] + bars["ask_high"]) / 2).to_numpy(np.float64)
        low = ((bars["bid_low"] + bars["ask_low"]) / 2).to_numpy(np.float64)
        return triple_barrier_events(bars, atr(high, low, mid, fs.atr_window), horizon, mult, mult, dead_zone)
    raise MLError(f"unknown label kind {kind!r}: use 'forward' or 'triple_barrier'")
