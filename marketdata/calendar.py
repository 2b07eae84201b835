"""When markets trade: the FX week runs from Sunday 17:00 to Friday 17:00 New York time.

That is Sunday 22:00 UTC to Friday 22:00 UTC in the northern winter (21:00 UTC while New York
is on daylight time), which is when Dukascopy's FX feed opens and closes. Crypto trades always.
Functions take UTC epoch milliseconds as numpy arrays so that gap checks and the synthetic
source stay vectorised.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MARKET_TZ = "America/New_York"
ROLLOVER_HOUR_NY = 17  # the FX day (and week) turns over at 17:00 New York time

ALWAYS_OPEN = frozenset({"crypto"})


def fx_open_mask(ts_ms: np.ndarray) -> np.ndarray:
    """True where the FX market is open: not between Friday 17:00 and Sunday 17:00 New York."""
    ts_ms = np.asarray(ts_ms, dtype=np.int64)
    if ts_ms.size == 0:
        return np.zeros(0, dtype=bool)
    # The week's closes and reopens around the span, then one binary search per stamp: the gap
    # checks ask about 1-second grids of whole days, where converting every stamp to New York
    # time cost ~10 ms a day. Eight days of margin put a close and a reopen before every stamp.
    margin_s = 8 * 86_400
    instants, weekday = rollover_instants(int(ts_ms.min()) // 1000 - margin_s,
                                          int(ts_ms.max()) // 1000 + margin_s)
    closes, reopens = instants[weekday == 4] * 1000, instants[weekday == 6] * 1000
    last_close = closes[np.searchsorted(closes, ts_ms, side="right") - 1]  # at or before each stamp
    last_reopen = reopens[np.searchsorted(reopens, ts_ms, side="right") - 1]
    return last_reopen >= last_close  # closed from a close (included) to the next reopen


def open_mask(ts_ms: np.ndarray, asset_class: str = "fx") -> np.ndarray:
    """True where an instrument of ``asset_class`` trades at each UTC millisecond."""
    if asset_class in ALWAYS_OPEN:
        return np.ones(np.shape(ts_ms), dtype=bool)
    return fx_open_mask(ts_ms)


def to_ms(ts: object) -> int:
    """UTC epoch ms of a datetime, pandas Timestamp or ISO string (naive means UTC)."""
    stamp = pd.Timestamp(ts)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return int(stamp.value // 1_000_000)


def rollover_instants(start_s: int, end_s: int) -> tuple[np.ndarray, np.ndarray]:
    """The daily 17:00 New York rollovers R with ``start_s < R <= end_s`` (UTC epoch seconds):
    22:00 UTC in the northern winter, 21:00 UTC while New York is on daylight time. Returns the
    instants and each one's New York weekday (Monday=0), both int64 arrays."""
    if end_s <= start_s:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    first = pd.Timestamp(start_s, unit="s", tz="UTC").tz_convert(MARKET_TZ).normalize().tz_localize(None)
    last = pd.Timestamp(end_s, unit="s", tz="UTC").tz_convert(MARKET_TZ).normalize().tz_localize(None)
    days = pd.date_range(first - pd.Timedelta(days=1), last + pd.Timedelta(days=1), freq="D")
    # 17:00 is never inside a daylight-saving jump (those happen at 02:00)
    local = (days + pd.Timedelta(hours=ROLLOVER_HOUR_NY)).tz_localize(MARKET_TZ)
    instants = np.asarray(local.tz_convert("UTC").asi8 // 1_000_000_000, dtype=np.int64)
    keep = (instants > start_s) & (instants <= end_s)
    return instants[keep], np.asarray(local.dayofweek, dtype=np.int64)[keep]
