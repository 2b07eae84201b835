"""Synthetic bid/ask bars for backtest tests (random walks with a random spread)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from marketdata.schema import BAR_COLUMNS


def random_bars(n: int, seed: int = 0, freq: str = "1h", start: str = "2024-01-01",
                spread_pips: float = 1.0, pip: float = 1e-4, vol: float = 5e-4) -> pd.DataFrame:
    """Bars in the ``BAR_COLUMNS`` schema: a mid random walk, random spreads, consistent OHLC."""
    rng = np.random.default_rng(seed)
    ts = pd.date_range(start, periods=n, freq=freq, tz="UTC")
    mid_open = 1.1 * np.exp(np.cumsum(rng.normal(0, vol, n)))
    mid_close = mid_open * np.exp(rng.normal(0, vol, n))
    hi = np.maximum(mid_open, mid_close) * np.exp(np.abs(rng.normal(0, vol, n)))
    lo = np.minimum(mid_open, mid_close) * np.exp(-np.abs(rng.normal(0, vol, n)))
    spread_o = spread_pips * pip * rng.uniform(0.5, 2.0, n)
    spread_c = spread_pips * pip * rng.uniform(0.5, 2.0, n)
    s_hl = np.maximum(spread_o, spread_c)
    df = pd.DataFrame({
        "ts": ts,
        "bid_open": mid_open - spread_o / 2, "bid_high": hi - s_hl / 2,
        "bid_low": lo - s_hl / 2, "bid_close": mid_close - spread_c / 2,
        "ask_open": mid_open + spread_o / 2, "ask_high": hi + s_hl / 2,
        "ask_low": lo + s_hl / 2, "ask_close": mid_close + spread_c / 2,
    })
    for side in ("bid", "ask"):
        oc = df[[f"{side}_open", f"{side}_close"]]
        df[f"{side}_high"] = np.maximum(df[f"{side}_high"], oc.max(axis=1))
        df[f"{side}_low"] = np.minimum(df[f"{side}_low"], oc.min(axis=1))
    df["spread_mean"] = (spread_o + spread_c) / 2
    df["spread_max"] = s_hl
    df["tick_count"] = rng.integers(1, 500, n)
    df["bid_volume"] = rng.uniform(1, 10, n)
    df["ask_volume"] = rng.uniform(1, 10, n)
    return df[BAR_COLUMNS]


def random_signal(n: int, seed: int = 0, hold: int = 5) -> np.ndarray:
    """A -1/0/+1 signal that changes on average every ``hold`` bars."""
    rng = np.random.default_rng(seed + 1000)
    change = rng.random(n) < 1.0 / hold
    values = rng.integers(-1, 2, n)
    out = np.zeros(n, dtype=np.int64)
    cur = 0
    for i in range(n):
        if change[i]:
            cur = int(values[i])
        out[i] = cur
    return out
