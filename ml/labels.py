"""Labels: the only place where future data appears."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.features import mid_close


def forward_return_labels(bars: pd.DataFrame, horizon: int, dead_zone: float = 0.0) -> pd.Series:
    """Sign of the log mid return from bar t's close to bar t+horizon's close.

    1.0 = up, 0.0 = down, NaN inside the dead zone (|return| <= dead_zone) or where the
    horizon runs past the data.
    """
    log_mid = np.log(mid_close(bars).to_numpy(dtype=np.float64))
    fwd = np.full(len(log_mid), np.nan)
    if len(log_mid) > horizon:
        fwd[:-horizon] = log_mid[horizon:] - log_mid[:-horizon]
    label = np.where(fwd > dead_zone, 1.0, np.where(fwd < -dead_zone, 0.0, np.nan))
    label[np.isnan(fwd)] = np.nan
    return pd.Series(label, index=bars.index, name=f"label_fwd_{horizon}")


def triple_barrier_labels(bars: pd.DataFrame, atr_values: np.ndarray, horizon: int,
                          tp_mult: float = 2.0, sl_mult: float = 2.0) -> pd.Series:
    """Triple-barrier labels: 1.0 when the take-profit (close + tp_mult*ATR) is touched first
    within ``horizon`` bars, 0.0 when the stop (close - sl_mult*ATR) is, NaN when the time
    barrier ends it (or the data does, or ATR is unknown).

    Barriers are checked on each later bar's mid high/low; a bar touching both counts as the
    stop (the pessimistic order, as in the backtest engine).
    """
    close = mid_close(bars).to_numpy(dtype=np.float64)
    high = ((bars["bid_high"] + bars["ask_high"]) / 2.0).to_numpy(dtype=np.float64)
    low = ((bars["bid_low"] + bars["ask_low"]) / 2.0).to_numpy(dtype=np.float64)
    n = len(close)
    label = np.full(n, np.nan)
    if n <= horizon:
        return pd.Series(label, index=bars.index, name=f"label_tb_{horizon}")
    windows_hi = np.lib.stride_tricks.sliding_window_view(high[1:], horizon)  # bars t+1..t+h
    windows_lo = np.lib.stride_tricks.sliding_window_view(low[1:], horizon)
    m = len(windows_hi)  # = n - horizon: every t with a full future window
    up = close[:m, None] + tp_mult * atr_values[:m, None]
    down = close[:m, None] - sl_mult * atr_values[:m, None]
    hit_up, hit_down = windows_hi >= up, windows_lo <= down
    first_up = np.where(hit_up.any(axis=1), hit_up.argmax(axis=1), horizon)
    first_down = np.where(hit_down.any(axis=1), hit_down.argmax(axis=1), horizon)
    decided = (first_up < horizon) | (first_down < horizon)
    label[:m] = np.where(decided, np.where(first_up < first_down, 1.0, 0.0), np.nan)
    label[:m][np.isnan(atr_values[:m])] = np.nan
    return pd.Series(label, index=bars.index, name=f"label_tb_{horizon}")
