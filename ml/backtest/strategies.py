"""Reference strategies that turn prices into target-position signals.

SMA crossover tie rule: a cross up at bar t needs fast[t-1] < slow[t-1] and fast[t] > slow[t]
(strict on both sides, on pandas ``rolling(n).mean()`` of the close), a cross down the mirror
image. Bars where the averages are equal, or not yet defined, are not crosses, and between crosses
the position is held. So touching the slow average and moving back is no trade, and a second cross
in the same direction (possible only after an exact tie) keeps the position rather than closing
and reopening it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.backtest.errors import BacktestError


def crossings(fast: np.ndarray, slow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boolean arrays (cross_up, cross_down) with the strict rule above; NaN never crosses."""
    f_prev = np.r_[np.nan, fast[:-1]]
    s_prev = np.r_[np.nan, slow[:-1]]
    with np.errstate(invalid="ignore"):
        up = (f_prev < s_prev) & (fast > slow)
        down = (f_prev > s_prev) & (fast < slow)
    return up, down


def sma_cross_signal(close: pd.Series | np.ndarray, fast: int, slow: int,
                     long_only: bool = False) -> np.ndarray:
    """Target position per bar: +1 after a cross up, -1 (0 if ``long_only``) after a cross down."""
    if not (isinstance(fast, int | np.integer) and isinstance(slow, int | np.integer)):
        raise BacktestError("fast and slow must be integers")
    if fast < 1 or slow < 1 or fast == slow:
        raise BacktestError(f"need 1 <= fast != slow, got fast={fast}, slow={slow}")
    c = pd.Series(np.asarray(close, dtype=np.float64))
    f = c.rolling(int(fast)).mean().to_numpy()
    s = c.rolling(int(slow)).mean().to_numpy()
    up, down = crossings(f, s)
    events = np.full(len(c), np.nan)
    events[up] = 1.0
    events[down] = 0.0 if long_only else -1.0
    return pd.Series(events).ffill().fillna(0.0).to_numpy().astype(np.int64)
