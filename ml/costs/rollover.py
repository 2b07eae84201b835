"""Overnight swap schedule: how many rollovers (22:00 UTC, Wednesday counts three) each bar spans.

A position held at the close of bar t pays for every rollover instant R with ts[t] < R <= ts[t+1]
(the last bar is taken to last the median bar length). Rollovers fall Monday to Friday only: the
Wednesday triple pays for the weekend, so Saturday and Sunday 22:00 pay nothing.
"""

from __future__ import annotations

import numpy as np

ROLLOVER_SECONDS = 22 * 3600
_DAY = 86_400
# weight by weekday, Monday=0; 1970-01-01 (epoch day 0) was a Thursday.
_WEIGHT = np.array([1, 1, 3, 1, 1, 0, 0], dtype=np.int64)
_EPOCH_WEEKDAY = 3
# _PREFIX[k] = weight of the first k rollovers counted from epoch day 0
_PREFIX = np.concatenate([[0], np.cumsum([_WEIGHT[(_EPOCH_WEEKDAY + d) % 7] for d in range(7)])])


def _weighted_rollovers_upto(seconds: np.ndarray) -> np.ndarray:
    """Weighted count of rollover instants R <= t since epoch day 0 (negative before it)."""
    k = np.floor_divide(seconds - ROLLOVER_SECONDS, _DAY) + 1  # rollovers on days [0, k)
    weeks, rest = np.divmod(k, 7)
    return weeks * 7 + _PREFIX[rest]


def swap_multipliers(ts_ns: np.ndarray) -> np.ndarray:
    """Per bar, the swap charges (Wednesday = 3) due if a position is held at its close."""
    ts_ns = np.asarray(ts_ns, dtype=np.int64)
    if ts_ns.size == 0:
        return np.zeros(0)
    seconds = ts_ns // 1_000_000_000
    step = int(np.median(np.diff(seconds))) if seconds.size > 1 else 60
    ends = np.append(seconds[1:], seconds[-1] + step)
    return (_weighted_rollovers_upto(ends) - _weighted_rollovers_upto(seconds)).astype(np.float64)


def rollovers_between(start_s: int, end_s: int) -> list[tuple[int, int]]:
    """The rollover instants R (epoch seconds) with start_s < R <= end_s that pay swap, each with
    its weight (Wednesday 3); the weekend's weight-0 rollovers are left out. The same schedule as
    :func:`swap_multipliers`, one instant at a time, for callers that book each rollover once."""
    first = (start_s - ROLLOVER_SECONDS) // _DAY + 1  # first epoch day whose rollover is > start
    last = (end_s - ROLLOVER_SECONDS) // _DAY  # last epoch day whose rollover is <= end
    out = []
    for day in range(first, last + 1):
        weight = int(_WEIGHT[(_EPOCH_WEEKDAY + day) % 7])
        if weight:
            out.append((day * _DAY + ROLLOVER_SECONDS, weight))
    return out
