"""Labels: the only place where future data appears.

Every label comes with the bar where its outcome is decided (``end``, an offset in bars from the
labelled bar). Splits purge by that end; sample weights by label uniqueness are built from it.
A NaN label marks a bar without a training target (a dead zone, or a horizon past the data):
the bar stays in the frame, so sequence windows never skip it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.features import mid_close


def forward_return_labels(bars: pd.DataFrame, horizon: int, dead_zone: float | np.ndarray = 0.0) -> pd.Series:
    """Sign of the log mid return from bar t's close to bar t+horizon's close.

    1.0 = up, 0.0 = down, NaN inside the dead zone (|return| <= dead_zone, a number or one
    threshold per bar) or where the horizon runs past the data. Every label ends ``horizon``
    bars later.
    """
    log_mid = np.log(mid_close(bars).to_numpy(dtype=np.float64))
    fwd = np.full(len(log_mid), np.nan)
    if len(log_mid) > horizon:
        fwd[:-horizon] = log_mid[horizon:] - log_mid[:-horizon]
    dz = np.asarray(dead_zone, dtype=np.float64)
    label = np.where(fwd > dz, 1.0, np.where(fwd < -dz, 0.0, np.nan))
    label[np.isnan(fwd)] = np.nan
    return pd.Series(label, index=bars.index, name=f"label_fwd_{horizon}")


def triple_barrier_events(bars: pd.DataFrame, atr_values: np.ndarray, horizon: int,
                          tp_mult: float = 2.0, sl_mult: float = 2.0,
                          dead_zone: float | np.ndarray = 0.0) -> pd.DataFrame:
    """Triple-barrier outcomes: columns ``label`` and ``end`` (bars from t to the deciding bar).

    1.0 when the take-profit (close + tp_mult*ATR) is touched first within ``horizon`` bars,
    0.0 when the stop (close - sl_mult*ATR) is. When neither is, the time barrier decides: the
    sign of the mid return over the ``horizon`` bars, NaN only inside ``dead_zone`` (a flat
    outcome carries no direction). Dropping time-barrier rows would select training rows by
    their future. NaN where the horizon runs past the data or ATR is unknown.

    Barriers are checked on each later bar's mid high/low; a bar touching both counts as the
    stop (the pessimistic order, as in the backtest engine).
    """
    close = mid_close(bars).to_numpy(dtype=np.float64)
    high = ((bars["bid_high"] + bars["ask_high"]) / 2.0).to_numpy(dtype=np.float64)
    low = ((bars["bid_low"] + bars["ask_low"]) / 2.0).to_numpy(dtype=np.float64)
    n = len(close)
    label = np.full(n, np.nan)
    end = np.full(n, horizon, dtype=np.int64)
    if n <= horizon:
        return pd.DataFrame({"label": label, "end": end}, index=bars.index)
    windows_hi = np.lib.stride_tricks.sliding_window_view(high[1:], horizon)  # bars t+1..t+h
    windows_lo = np.lib.stride_tricks.sliding_window_view(low[1:], horizon)
    m = len(windows_hi)  # = n - horizon: every t with a full future window
    up = close[:m, None] + tp_mult * atr_values[:m, None]
    down = close[:m, None] - sl_mult * atr_values[:m, None]
    hit_up, hit_down = windows_hi >= up, windows_lo <= down
    first_up = np.where(hit_up.any(axis=1), hit_up.argmax(axis=1), horizon)
    first_down = np.where(hit_down.any(axis=1), hit_down.argmax(axis=1), horizon)
    decided = (first_up < horizon) | (first_down < horizon)
    timed = forward_return_labels(bars, horizon, dead_zone).to_numpy()[:m]
    label[:m] = np.where(decided, np.where(first_up < first_down, 1.0, 0.0), timed)
    label[:m][np.isnan(atr_values[:m])] = np.nan
    end[:m] = np.where(decided, np.minimum(first_up, first_down) + 1, horizon)
    return pd.DataFrame({"label": label, "end": end}, index=bars.index)


def triple_barrier_labels(bars: pd.DataFrame, atr_values: np.ndarray, horizon: int,
                          tp_mult: float = 2.0, sl_mult: float = 2.0,
                          dead_zone: float | np.ndarray = 0.0) -> pd.Series:
    """The ``label`` column of :func:`triple_barrier_events`."""
    events = triple_barrier_events(bars, atr_values, horizon, tp_mult, sl_mult, dead_zone)
    return events["label"].rename(f"label_tb_{horizon}")


def cost_dead_zone(bars: pd.DataFrame, contract_size: float, commission_per_lot: float) -> np.ndarray:
    """Per-bar log-return threshold that a trade must beat to make money: the round-trip cost.

    The spread is paid once per round trip (buy at the ask, sell at the bid); commission
    ``commission_per_lot`` per side, in the quote currency, is ``2 * commission / (contract_size
    * mid)`` of the notional. A label inside this zone would be "up" or "down" but lose money
    even with perfect foresight.
    """
    mid = mid_close(bars).to_numpy(dtype=np.float64)
    spread = (bars["ask_close"] - bars["bid_close"]).to_numpy(dtype=np.float64)
    return np.log1p(np.maximum(spread, 0.0) / mid + 2.0 * commission_per_lot / (contract_size * mid))


def uniqueness_weights(end: np.ndarray, labelled: np.ndarray | None = None) -> np.ndarray:
    """Average uniqueness of each label (López de Prado, AFML ch. 4), for one symbol's bars.

    Label i spans bars i+1 .. i+end[i]. A bar shared by c concurrent labels counts 1/c for each;
    a label's weight is the mean of that over its span, so 1.0 means it overlaps no other
    label and 1/h that it shares every bar with h-1 others. Only ``labelled`` rows count as
    concurrent (all rows when None).
    """
    end = np.asarray(end, dtype=np.int64)
    n = len(end)
    if n == 0:
        return np.zeros(0)
    live = np.ones(n, bool) if labelled is None else np.asarray(labelled, bool)
    start = np.arange(n) + 1
    stop = np.minimum(np.arange(n) + end, n + max(int(end.max(initial=0)), 1))  # inclusive
    size = int(stop.max(initial=0)) + 2
    delta = np.zeros(size)
    np.add.at(delta, start[live], 1.0)
    np.add.at(delta, stop[live] + 1, -1.0)
    conc = np.cumsum(delta)
    inv = np.divide(1.0, conc, out=np.zeros_like(conc), where=conc > 0)
    csum = np.concatenate([[0.0], np.cumsum(inv)])
    span = (stop - start + 1).astype(np.float64)
    w = (csum[stop + 1] - csum[start]) / np.maximum(span, 1.0)
    return np.where(live, w, 0.0)
