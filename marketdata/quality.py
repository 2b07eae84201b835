"""Data-quality checks on a day of ticks: plain functions returning a :class:`CheckResult`.

The Dagster layer turns each result into an asset check. Severities: ``"error"`` means the
data is wrong (unsorted, crossed quotes), ``"warn"`` means it is suspicious (a spike, a gap in
trading hours, too few ticks). Weekend closure (Friday 17:00 to Sunday 17:00 New York, i.e.
22:00 UTC in winter) and whole empty hours on market holidays (the datafeed's zero-byte files)
are normal and never reported.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from marketdata.calendar import open_mask
from marketdata.sources import day_bounds_ms

# (month, day) on which the FX market thins out or stops for whole hours.
HOLIDAYS = frozenset({(12, 24), (12, 25), (12, 26), (12, 31), (1, 1)})
_HOUR_MS = 3_600_000


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: whether it passed, how bad a failure is, and details."""

    name: str
    passed: bool
    severity: str  # "error" or "warn": what a failure means
    metadata: dict[str, Any] = field(default_factory=dict)


def check_monotonic(ticks: pd.DataFrame) -> CheckResult:
    """Timestamps never go backwards (equal ones are fine: several quotes per millisecond)."""
    back = np.flatnonzero(np.diff(ticks["ts_ms"].to_numpy(np.int64)) < 0)
    meta: dict[str, Any] = {"violations": int(back.size)}
    if back.size:
        meta["first_violation_row"] = int(back[0] + 1)
    return CheckResult("monotonic_timestamps", back.size == 0, "error", meta)


def check_ask_ge_bid(ticks: pd.DataFrame) -> CheckResult:
    """Every quote has ask >= bid (no crossed book)."""
    crossed = int((ticks["ask"].to_numpy() < ticks["bid"].to_numpy()).sum())
    return CheckResult("ask_ge_bid", crossed == 0, "error", {"crossed_quotes": crossed})


def check_duplicates(ticks: pd.DataFrame) -> CheckResult:
    """No fully identical rows (same time, prices and volumes): a sign of a double load."""
    ts = ticks["ts_ms"].to_numpy(np.int64) if "ts_ms" in ticks.columns else None
    if ts is None or (ts.size and (np.diff(ts) < 0).any()):
        dups = int(ticks.duplicated().sum())
    else:
        # Identical rows share a timestamp, so in time order only rows whose stamp repeats can be
        # duplicates: hash those few instead of every row (pandas' hash of a whole day of ticks
        # was most of the day's checks). The same rows counted, on a fraction of the frame.
        tied = np.zeros(ts.size, dtype=bool)
        same = ts[1:] == ts[:-1]
        tied[1:] |= same
        tied[:-1] |= same
        dups = int(ticks[tied].duplicated().sum()) if tied.any() else 0
    return CheckResult("duplicate_ticks", dups == 0, "warn", {"duplicate_rows": dups})


def check_row_count(
    ticks: pd.DataFrame, day: dt.date, asset_class: str = "fx", min_per_open_hour: float = 50.0
) -> CheckResult:
    """Enough ticks for the hours the market was open that day (none expected when closed)."""
    start, _ = day_bounds_ms(day)
    minutes = start + np.arange(1440, dtype=np.int64) * 60_000
    open_hours = float(open_mask(minutes, asset_class).sum()) / 60
    if (day.month, day.day) in HOLIDAYS:
        open_hours /= 4  # holidays trade thinly; only an almost empty day is suspicious
    expected = int(open_hours * min_per_open_hour)
    meta = {"rows": len(ticks), "open_hours": round(open_hours, 2), "min_expected": expected}
    return CheckResult("row_count", len(ticks) >= expected, "warn", meta)


def check_price_spikes(ticks: pd.DataFrame, max_z: float = 50.0) -> CheckResult:
    """Out-and-back spikes: a mid log return beyond ``max_z`` robust z-scores, then reversed.

    The z-score uses the median and MAD of the non-zero returns (most ticks move nothing). A
    big move that is not reversed by the next tick is a genuine jump (news), not a bad print.
    """
    mid = (ticks["bid"].to_numpy(np.float64) + ticks["ask"].to_numpy(np.float64)) / 2
    meta: dict[str, Any] = {"max_z": max_z, "spikes": 0}
    if mid.size < 3:
        return CheckResult("price_spikes", True, "warn", meta)
    ret = np.diff(np.log(mid))
    moves = ret[ret != 0]
    if moves.size < 2:
        return CheckResult("price_spikes", True, "warn", meta)
    center = np.median(moves)
    mad = np.median(np.abs(moves - center)) * 1.4826 or np.std(moves) or 1.0
    z = (ret - center) / mad
    reverted = (ret[:-1] * ret[1:] < 0) & (np.abs(ret[1:]) > 0.5 * np.abs(ret[:-1]))
    spike = np.flatnonzero((np.abs(z[:-1]) > max_z) & reverted) + 1  # row of the bad print
    ts = ticks["ts_ms"].to_numpy(np.int64)
    meta.update(
        spikes=int(spike.size),
        largest_z=round(float(np.abs(z).max()), 1),
        at=[_iso(ts[i]) for i in spike[:10]],
    )
    return CheckResult("price_spikes", spike.size == 0, "warn", meta)


def find_gaps(
    ticks: pd.DataFrame,
    day: dt.date | None = None,
    max_gap: str = "5min",
    asset_class: str = "fx",
) -> list[dict[str, Any]]:
    """Gaps between ticks with more than ``max_gap`` of open-market time inside them.

    With ``day``, the stretches from midnight to the first tick and from the last tick to
    midnight count too. Closed-market time is not counted; a gap on a holiday that spans a
    whole clock hour is the datafeed's zero-byte holiday hours and is not reported.
    """
    limit = int(pd.Timedelta(max_gap).total_seconds() * 1000)
    ts = ticks["ts_ms"].to_numpy(np.int64)
    if day is not None:
        lo, hi = day_bounds_ms(day)
        ts = np.concatenate([[lo - 1], ts, [hi]])
    if ts.size < 2:
        return []
    width = np.diff(ts)
    gaps = []
    for i in np.flatnonzero(width > limit):  # only the few candidate gaps, not every row
        a, b = int(ts[i]), int(ts[i + 1])
        grid = np.arange(a, b, 1000, dtype=np.int64)  # 1-second resolution
        open_ms = int(open_mask(grid, asset_class).sum()) * 1000
        if open_ms <= limit:
            continue
        whole_hour = (b // _HOUR_MS) - (-(-a // _HOUR_MS)) >= 1
        date = pd.Timestamp(a, unit="ms", tz="UTC")
        if whole_hour and (date.month, date.day) in HOLIDAYS:
            continue
        gaps.append({"start": _iso(a), "end": _iso(b), "open_minutes": round(open_ms / 60_000, 1)})
    return gaps


def check_gaps(
    ticks: pd.DataFrame, day: dt.date | None = None, max_gap: str = "5min", asset_class: str = "fx"
) -> CheckResult:
    """Warn about gaps inside trading hours, reporting each gap's size (see :func:`find_gaps`)."""
    gaps = find_gaps(ticks, day, max_gap, asset_class)
    meta = {
        "gaps": len(gaps),
        "max_gap": max_gap,
        "largest_open_minutes": max((g["open_minutes"] for g in gaps), default=0.0),
        "details": gaps[:20],
    }
    return CheckResult("gaps", not gaps, "warn", meta)


def check_day(ticks: pd.DataFrame, day: dt.date, asset_class: str = "fx") -> list[CheckResult]:
    """All tick checks for one stored day."""
    return [
        check_monotonic(ticks),
        check_ask_ge_bid(ticks),
        check_duplicates(ticks),
        check_row_count(ticks, day, asset_class),
        check_price_spikes(ticks),
        check_gaps(ticks, day, asset_class=asset_class),
    ]


def _iso(ms: int) -> str:
    return pd.Timestamp(int(ms), unit="ms", tz="UTC").isoformat()
