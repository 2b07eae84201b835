"""Tick-to-bar aggregation and bar resampling, vectorised with ``ufunc.reduceat``.

A bar's ``ts`` is its open time (tz-aware UTC). Bid and ask get their own OHLC; the spread
(ask - bid) is summarised by mean and max; volumes are sums. Ticks are grouped by integer
division of their epoch ms, so there is no Python loop over rows or bars.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from marketdata.schema import BAR_COLUMNS, TICK_COLUMNS

FILLS = ("none", "flag", "ffill")
_PRICE_COLUMNS = BAR_COLUMNS[1:9]


def freq_ms(freq: str) -> int:
    """Length of a fixed frequency such as ``1min``, ``15min``, ``4h`` or ``1d``, in ms."""
    try:
        ms = int(pd.Timedelta(freq).total_seconds() * 1000)
    except ValueError as exc:
        raise ValueError(
            f"unsupported bar frequency {freq!r}: use a fixed one like '5min'"
        ) from exc
    if ms <= 0 or (86_400_000 % ms and ms % 86_400_000):
        raise ValueError(f"bar frequency {freq!r} must divide a day or be whole days")
    return ms


def empty_bars() -> pd.DataFrame:
    """A zero-row bar frame with ``BAR_COLUMNS`` and their dtypes."""
    cols: dict[str, object] = {"ts": pd.DatetimeIndex([], dtype="datetime64[ns, UTC]")}
    for c in BAR_COLUMNS[1:]:
        cols[c] = np.array([], dtype=np.int64 if c == "tick_count" else np.float64)
    return pd.DataFrame(cols, columns=BAR_COLUMNS)


def _frame(bucket_ms: np.ndarray, values: dict[str, np.ndarray]) -> pd.DataFrame:
    out = pd.DataFrame(values)
    out.insert(
        0, "ts", pd.to_datetime(bucket_ms, unit="ms", utc=True).astype("datetime64[ns, UTC]")
    )
    out["tick_count"] = out["tick_count"].astype(np.int64)
    return out[BAR_COLUMNS]


def ticks_to_bars(
    ticks: pd.DataFrame,
    freq: str = "1min",
    fill: str = "none",
    start: object | None = None,
    end: object | None = None,
) -> pd.DataFrame:
    """Aggregate ticks (``TICK_COLUMNS``) into bars with exactly ``BAR_COLUMNS``.

    ``fill="none"`` keeps only bars that have ticks. ``fill="flag"`` returns the complete grid
    (from the first to the last bar, or ``start`` to ``end`` exclusive when given) with
    ``tick_count=0`` and NaN prices for empty bars; ``fill="ffill"`` carries the previous close
    into O/H/L/C of empty bars (the flat candles Dukascopy itself publishes).
    """
    if fill not in FILLS:
        raise ValueError(f"fill must be one of {FILLS}, not {fill!r}")
    missing = set(TICK_COLUMNS) - set(ticks.columns)
    if missing:
        raise ValueError(f"tick frame lacks columns {sorted(missing)}")
    step = freq_ms(freq)
    if len(ticks) and not ticks["ts_ms"].is_monotonic_increasing:
        ticks = ticks.sort_values("ts_ms", kind="stable")
    ts = ticks["ts_ms"].to_numpy(np.int64)
    if ts.size == 0:
        bars = empty_bars()
    else:
        bucket = ts // step * step
        starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
        last = np.r_[starts[1:], ts.size] - 1
        bid = ticks["bid"].to_numpy(np.float64)
        ask = ticks["ask"].to_numpy(np.float64)
        spread = ask - bid
        count = last - starts + 1
        bars = _frame(
            bucket[starts],
            {
                "bid_open": bid[starts],
                "bid_high": np.maximum.reduceat(bid, starts),
                "bid_low": np.minimum.reduceat(bid, starts),
                "bid_close": bid[last],
                "ask_open": ask[starts],
                "ask_high": np.maximum.reduceat(ask, starts),
                "ask_low": np.minimum.reduceat(ask, starts),
                "ask_close": ask[last],
                "spread_mean": np.add.reduceat(spread, starts) / count,
                "spread_max": np.maximum.reduceat(spread, starts),
                "tick_count": count,
                "bid_volume": np.add.reduceat(ticks["bid_volume"].to_numpy(np.float64), starts),
                "ask_volume": np.add.reduceat(ticks["ask_volume"].to_numpy(np.float64), starts),
            },
        )
    return fill_bars(bars, step, fill, start, end)


def fill_bars(
    bars: pd.DataFrame,
    step_ms: int,
    fill: str,
    start: object | None = None,
    end: object | None = None,
) -> pd.DataFrame:
    """Put sparse bars on a complete grid of ``step_ms`` (see :func:`ticks_to_bars`)."""
    if fill == "none":
        return bars
    if start is None and end is None and bars.empty:
        return bars
    ts_ms = bars["ts"].to_numpy("datetime64[ms]").astype(np.int64)
    lo = _grid_ms(start, step_ms) if start is not None else int(ts_ms[0])
    hi = _grid_ms(end, step_ms) if end is not None else int(ts_ms[-1]) + step_ms
    grid = np.arange(lo, hi, step_ms, dtype=np.int64)
    keep = (ts_ms >= lo) & (ts_ms < hi)
    pos = np.searchsorted(grid, ts_ms[keep])
    values: dict[str, np.ndarray] = {}
    for c in BAR_COLUMNS[1:]:
        col = np.full(grid.size, 0.0 if c in ("tick_count", "bid_volume", "ask_volume") else np.nan)
        col[pos] = bars[c].to_numpy(np.float64)[keep]
        values[c] = col
    if fill == "ffill":
        has = values["tick_count"] > 0
        # Index of the latest bar with ticks at or before each grid slot (-1 before the first).
        src = np.maximum.accumulate(np.where(has, np.arange(grid.size), -1))
        empty = ~has & (src >= 0)
        for side in ("bid", "ask"):
            close = values[f"{side}_close"][src[empty]]
            for part in ("open", "high", "low", "close"):
                values[f"{side}_{part}"][empty] = close
        carried = values["ask_close"][empty] - values["bid_close"][empty]
        values["spread_mean"][empty] = carried
        values["spread_max"][empty] = carried
    return _frame(grid, values)


def _grid_ms(ts: object, step_ms: int) -> int:
    stamp = pd.Timestamp(ts)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    ms = stamp.value // 1_000_000
    return -(-ms // step_ms) * step_ms  # first grid point at or after ts


def resample_bars(bars: pd.DataFrame, rule: str, fill: str = "none") -> pd.DataFrame:
    """Build coarser bars (``5min``, ``15min``, ``1h``, ``4h``, ``1d``...) from 1-minute bars.

    Filled bars (``tick_count == 0``) are ignored, so a flat carried candle never becomes an
    open or a low. The spread mean is weighted by tick count; volumes and counts are summed.
    """
    step = freq_ms(rule)
    real = bars[bars["tick_count"] > 0]
    if not real["ts"].is_monotonic_increasing:
        real = real.sort_values("ts", kind="stable")
    if real.empty:
        return fill_bars(empty_bars(), step, fill)
    ts_ms = real["ts"].to_numpy("datetime64[ms]").astype(np.int64)
    bucket = ts_ms // step * step
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    last = np.r_[starts[1:], ts_ms.size] - 1
    col = {c: real[c].to_numpy(np.float64) for c in BAR_COLUMNS[1:]}
    count = np.add.reduceat(col["tick_count"], starts)
    values = {
        "tick_count": count,
        "spread_mean": np.add.reduceat(col["spread_mean"] * col["tick_count"], starts) / count,
        "spread_max": np.maximum.reduceat(col["spread_max"], starts),
        "bid_volume": np.add.reduceat(col["bid_volume"], starts),
        "ask_volume": np.add.reduceat(col["ask_volume"], starts),
    }
    for side in ("bid", "ask"):
        values[f"{side}_open"] = col[f"{side}_open"][starts]
        values[f"{side}_high"] = np.maximum.reduceat(col[f"{side}_high"], starts)
        values[f"{side}_low"] = np.minimum.reduceat(col[f"{side}_low"], starts)
        values[f"{side}_close"] = col[f"{side}_close"][last]
    return fill_bars(_frame(bucket[starts], values), step, fill)
