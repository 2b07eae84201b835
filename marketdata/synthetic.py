"""An offline tick source: realistic, deterministic synthetic ticks for demos and tests.

Per (seed, symbol, day) the output is always the same. Mid prices follow a random walk in log
space with intraday volatility seasonality; each day is a Brownian bridge between two daily
anchor levels, so consecutive days join up without carrying state. Ticks arrive as a Poisson
process whose rate follows the same seasonality (about 20k-60k ticks per trading day). The
spread is a few points and widens around the 21:00-23:00 UTC rollover. Nothing trades while the
FX market is closed (Friday 17:00 to Sunday 17:00 New York, i.e. 22:00 UTC in winter).
"""

from __future__ import annotations

import datetime as dt
import zlib

import numpy as np
import pandas as pd

from marketdata.calendar import open_mask
from marketdata.instruments import Instrument, get_instrument
from marketdata.schema import TICK_COLUMNS
from marketdata.sources import day_bounds_ms, empty_ticks

# Typical price levels; unknown symbols get a level derived from their name.
_LEVELS = {
    "EURUSD": 1.10,
    "GBPUSD": 1.27,
    "USDJPY": 145.0,
    "USDCHF": 0.90,
    "AUDUSD": 0.66,
    "USDCAD": 1.36,
    "NZDUSD": 0.61,
    "EURGBP": 0.86,
    "EURJPY": 158.0,
    "GBPJPY": 183.0,
    "XAUUSD": 1950.0,
    "XAGUSD": 23.0,
    "BTCUSD": 40000.0,
    "USA500IDXUSD": 4500.0,
    "DEUIDXEUR": 16000.0,
}
_ANNUAL_VOL = {"fx": 0.08, "metal": 0.15, "index": 0.18, "crypto": 0.60}

# Relative activity per UTC hour: quiet Asia, busy London/New York overlap, dead at rollover.
_HOURLY_ACTIVITY = np.array(
    [
        0.6,
        0.6,
        0.6,
        0.5,
        0.5,
        0.6,
        0.8,
        1.2,
        1.5,
        1.4,
        1.3,
        1.2,
        1.5,
        1.8,
        1.8,
        1.6,
        1.3,
        1.0,
        0.8,
        0.7,
        0.6,
        0.3,
        0.3,
        0.5,
    ]
)
_MEAN_TICKS_PER_S = 0.45  # ~39k ticks on a full trading day


def _rng(seed: int, symbol: str, day: dt.date) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(symbol.encode()), day.toordinal()])


class SyntheticSource:
    """A deterministic :class:`~marketdata.sources.TickSource` that needs no network."""

    def __init__(self, seed: int = 7):
        self.seed = seed

    def anchor(self, inst: Instrument, day: dt.date) -> float:
        """The mid price at 00:00 UTC of ``day``: a slow, deterministic drift around a level."""
        base = _LEVELS.get(inst.symbol, 1.0 + (zlib.crc32(inst.symbol.encode()) % 1000) / 100)
        t = day.toordinal()
        phase = (zlib.crc32(inst.symbol.encode()) + self.seed) % 1000
        wobble = 0.04 * np.sin((t + phase) / 47.0) + 0.02 * np.sin((t + 2 * phase) / 11.0)
        day_rng = _rng(self.seed, inst.symbol + "#anchor", day)
        return float(base * np.exp(wobble + 0.002 * day_rng.standard_normal()))

    def fetch_day(self, symbol: str, day: dt.date) -> pd.DataFrame:
        """The synthetic ticks of one UTC day (empty when the market is closed all day)."""
        inst = get_instrument(symbol)
        rng = _rng(self.seed, inst.symbol, day)
        start_ms, _ = day_bounds_ms(day)
        seconds = np.arange(86_400, dtype=np.int64)
        trading = open_mask(start_ms + seconds * 1000, inst.asset_class)
        if not trading.any():
            return empty_ticks()
        activity = _HOURLY_ACTIVITY[seconds // 3600]
        counts = rng.poisson(_MEAN_TICKS_PER_S * activity * trading)
        ms = np.repeat(seconds * 1000, counts) + rng.integers(0, 1000, counts.sum())
        ms = np.unique(ms)  # sorted, at most one tick per millisecond
        n = ms.size
        if n == 0:
            return empty_ticks()

        # Log-mid path: variance per tick proportional to the activity of its hour, so the
        # day's total variance matches the annual vol; then bridge to tomorrow's anchor.
        weight = _HOURLY_ACTIVITY[ms // 3_600_000]
        daily_var = _ANNUAL_VOL.get(inst.asset_class, 0.1) ** 2 / 260
        steps = rng.standard_normal(n) * np.sqrt(daily_var * weight / weight.sum())
        walk = np.cumsum(steps)
        frac = ms / 86_400_000
        p0 = self.anchor(inst, day)
        p1 = self.anchor(inst, day + dt.timedelta(days=1))
        log_mid = np.log(p0) + walk - frac * (walk[-1] - np.log(p1 / p0))

        point = inst.point
        base_spread = max(1.0, round(0.15 * inst.pip_size / point))
        hour = ms // 3_600_000
        widen = np.where((hour >= 21) & (hour < 23), 4.0, 1.0)
        spread_pts = np.round(base_spread * widen * (1 + rng.gamma(2.0, 0.25, n)))
        bid_int = np.round(np.exp(log_mid) / point - spread_pts / 2)
        ask_int = bid_int + spread_pts
        volumes = np.round(rng.lognormal(0.2, 0.6, (2, n)), 2) + 0.01

        ticks = pd.DataFrame(
            {
                "ts_ms": start_ms + ms,
                "bid": bid_int / inst.price_scale,
                "ask": ask_int / inst.price_scale,
                "bid_volume": volumes[0],
                "ask_volume": volumes[1],
            },
            columns=TICK_COLUMNS,
        )
        return ticks
