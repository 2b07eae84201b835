"""Synthetic 1-minute bars in the store's schema, and a store filled with them and their features.

For tests and benchmarks that need more bars than the fixtures hold (a symbol-year): a random
walk of mid prices with a spread, 1,440 bars per weekday, features computed once over the
whole series (the same ``compute_features`` the features asset runs per day) and stored per day.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from marketdata.schema import BAR_COLUMNS
from marketdata.store import MarketStore
from ml.features import FeatureSet, compute_features


def weekdays(first: dt.date, n: int) -> list[dt.date]:
    """The first ``n`` Monday-to-Friday days from ``first`` on."""
    out: list[dt.date] = []
    day = first
    while len(out) < n:
        if day.weekday() < 5:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def synthetic_bars(days: list[dt.date], seed: int = 0, price: float = 1.1) -> pd.DataFrame:
    """1,440 one-minute bid/ask bars per day of ``days``, a seeded random walk."""
    rng = np.random.default_rng(seed)
    minutes = np.arange(1440, dtype="timedelta64[m]")
    ts = pd.DatetimeIndex(np.concatenate([np.datetime64(d, "m") + minutes for d in days])).tz_localize("UTC")
    n = len(ts)
    close = price * np.exp(np.cumsum(rng.normal(0, 2e-4, n)))
    open_ = np.concatenate([[price], close[:-1]])
    wiggle = np.abs(rng.normal(0, 1e-4, n)) * close
    high, low = np.maximum(open_, close) + wiggle, np.minimum(open_, close) - wiggle
    spread = 1e-4 * (1 + rng.random(n))
    df = pd.DataFrame({"ts": ts, "bid_open": open_, "bid_high": high, "bid_low": low, "bid_close": close,
                       "ask_open": open_ + spread, "ask_high": high + spread, "ask_low": low + spread,
                       "ask_close": close + spread, "spread_mean": spread, "spread_max": spread * 1.5,
                       "tick_count": rng.integers(5, 60, n), "bid_volume": rng.random(n) * 10,
                       "ask_volume": rng.random(n) * 10})
    return df[BAR_COLUMNS]


def fill_store(store: MarketStore, symbol: str, days: list[dt.date], fs: FeatureSet, seed: int = 0) -> int:
    """Store synthetic bars and their features for ``days``; return the number of bars."""
    bars = synthetic_bars(days, seed)
    feats = compute_features(bars, fs)
    day_of = bars["ts"].dt.date.to_numpy()
    for day in days:
        mask = day_of == day
        store.write_bars(symbol, day, bars[mask].reset_index(drop=True))
        store.write_features(symbol, day, feats[mask].reset_index(drop=True))
    return len(bars)
