"""Overnight swap schedule: the rollovers (17:00 New York, Wednesday counts three) a position pays.

The FX day ends at 17:00 New York time (:func:`marketdata.calendar.rollover_instants`): 22:00 UTC
in the northern winter, 21:00 UTC under US daylight time. A position held at the close of bar t
pays for every rollover instant R with ts[t] < R <= ts[t+1] (the last bar is taken to last the
median bar length). Rollovers pay Monday to Friday only: Wednesday's pays three nights for the
weekend, so Saturday's and Sunday's pay nothing.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np

from marketdata.calendar import MARKET_TZ, ROLLOVER_HOUR_NY, rollover_instants

# weight by New York weekday of the rollover, Monday=0
WEEKDAY_WEIGHT = np.array([1, 1, 3, 1, 1, 0, 0], dtype=np.int64)
_NY = ZoneInfo(MARKET_TZ)


def swap_multipliers(ts_ns: np.ndarray) -> np.ndarray:
    """Per bar, the swap charges (Wednesday = 3) due if a position is held at its close."""
    ts_ns = np.asarray(ts_ns, dtype=np.int64)
    if ts_ns.size == 0:
        return np.zeros(0)
    seconds = ts_ns // 1_000_000_000
    step = int(np.median(np.diff(seconds))) if seconds.size > 1 else 60
    ends = np.append(seconds[1:], seconds[-1] + step)
    instants, weekday = rollover_instants(int(seconds[0]) - 1, int(ends[-1]))
    paid = np.concatenate([[0], np.cumsum(WEEKDAY_WEIGHT[weekday])])
    upto = paid[np.searchsorted(instants, ends, side="right")]
    since = paid[np.searchsorted(instants, seconds, side="right")]
    return (upto - since).astype(np.float64)


def rollovers_between(start_s: int, end_s: int) -> list[tuple[int, int]]:
    """The rollover instants R (epoch seconds) with start_s < R <= end_s that pay swap, each with
    its weight (Wednesday 3); the weekend's weight-0 rollovers are left out. The same schedule as
    :func:`swap_multipliers`, one instant at a time, for callers that book each rollover once."""
    instants, weekday = rollover_instants(start_s, end_s)
    weights = WEEKDAY_WEIGHT[weekday]
    return [(int(r), int(w)) for r, w in zip(instants, weights, strict=True) if w]


def trading_day(ts: dt.datetime) -> dt.date:
    """The FX trading day ``ts`` (aware; naive means UTC) falls in: it changes at each rollover."""
    utc = ts.replace(tzinfo=dt.UTC) if ts.tzinfo is None else ts
    return (utc.astimezone(_NY) - dt.timedelta(hours=ROLLOVER_HOUR_NY)).date()
