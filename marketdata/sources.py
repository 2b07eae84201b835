"""The tick-source contract: anything that can hand over one UTC day of ticks for a symbol."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from marketdata.schema import TICK_COLUMNS


@runtime_checkable
class TickSource(Protocol):
    """A source of ticks, one UTC day at a time."""

    def fetch_day(self, symbol: str, day: dt.date) -> pd.DataFrame:
        """All ticks of ``day`` (00:00-24:00 UTC) with exactly ``TICK_COLUMNS``, sorted by ts_ms."""
        ...


def empty_ticks() -> pd.DataFrame:
    """A zero-row tick frame with the right columns and dtypes."""
    return pd.DataFrame(
        {
            "ts_ms": np.array([], dtype=np.int64),
            **{c: np.array([], dtype=np.float64) for c in TICK_COLUMNS[1:]},
        },
        columns=TICK_COLUMNS,
    )


def concat_ticks(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate tick frames into one sorted frame (stable, so equal timestamps keep order)."""
    parts = [f for f in frames if len(f)]
    if not parts:
        return empty_ticks()
    out = pd.concat(parts, ignore_index=True)
    if not out["ts_ms"].is_monotonic_increasing:
        out = out.sort_values("ts_ms", kind="stable", ignore_index=True)
    return out[TICK_COLUMNS]


def day_bounds_ms(day: dt.date) -> tuple[int, int]:
    """UTC epoch ms of ``day``'s start and of the next day's start."""
    start = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)
    return start, start + 86_400_000
