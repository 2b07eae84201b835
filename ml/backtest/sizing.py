"""Position sizing: fixed units, a fraction of equity, all-in whole units, or volatility targeting.

Every size is decided from data known at the decision bar's close; fraction sizes are applied to
the equity and fill price at the moment of the fill, which is also known then.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pandas as pd

from ml.backtest import core
from ml.backtest.errors import BacktestError
from ml.backtest.metrics import bars_per_year


def volatility_fraction(
    mid_close: np.ndarray,
    index: pd.DatetimeIndex,
    target: float,
    lookback: int = 100,
    max_leverage: float = 10.0,
) -> np.ndarray:
    """Fraction of equity per bar that targets ``target`` annualised volatility.

    Uses the sample standard deviation of the last ``lookback`` log returns up to and including
    each bar, annualised by the observed bars per year; 0 during warm-up (no trade).
    """
    if not target > 0 or lookback < 2 or not max_leverage > 0:
        raise BacktestError("vol_target and max_leverage must be > 0 and vol_lookback >= 2")
    rets = pd.Series(np.log(mid_close)).diff()
    sigma = rets.rolling(lookback, min_periods=lookback).std().to_numpy()
    ppy = bars_per_year(index)
    if not ppy > 0:
        raise BacktestError("volatility targeting needs at least two bars with distinct times")
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = target / (sigma * math.sqrt(ppy))
    frac = np.where(np.isfinite(frac), np.minimum(frac, max_leverage), 0.0)
    return frac


@lru_cache(maxsize=4)
def constant(n: int, value: float) -> np.ndarray:
    """A read-only array of ``n`` copies of ``value``: a per-bar parameter that does not vary
    (fixed units, a 1.0 rate, no swaps). Kept between runs, since writing (and faulting in) a
    fresh one per run cost more than a whole million-bar kernel pass."""
    arr = np.full(n, float(value))
    arr.setflags(write=False)
    return arr


def frozen(arr: np.ndarray) -> np.ndarray:
    """``arr`` (our own copy) as a read-only contiguous float64 array, the one array type the
    kernels are compiled for alongside :func:`constant`'s."""
    out = np.ascontiguousarray(arr, dtype=np.float64)
    out.setflags(write=False)
    return out


def sizing_arrays(
    n: int,
    *,
    units: float | np.ndarray | None,
    fraction: float | None,
    all_in: float | None,
    vol_fraction: np.ndarray | None,
) -> tuple[int, np.ndarray]:
    """Pick the sizing mode and its per-bar parameter (read-only); at most one way may be given."""
    given = [x is not None for x in (units, fraction, all_in, vol_fraction)]
    if sum(given) > 1:
        raise BacktestError("give only one of units, fraction, all_in or vol_target")
    if units is not None:
        if np.ndim(units) == 0:
            one = float(units)
            if not (math.isfinite(one) and one >= 0):
                raise BacktestError("units must be finite and >= 0")
            return core.SIZE_UNITS, constant(n, one)
        arr = np.broadcast_to(np.asarray(units, dtype=np.float64), (n,)).copy()
        if not (np.isfinite(arr).all() and (arr >= 0).all()):
            raise BacktestError("units must be finite and >= 0")
        return core.SIZE_UNITS, frozen(arr)
    if vol_fraction is not None:
        return core.SIZE_FRACTION, frozen(vol_fraction)
    if all_in is not None:
        if not 0 < all_in <= 1:
            raise BacktestError("all_in must be in (0, 1]")
        return core.SIZE_ALL_IN, constant(n, float(all_in))
    frac = 1.0 if fraction is None else float(fraction)
    if not (frac > 0 and math.isfinite(frac)):
        raise BacktestError("fraction must be > 0")
    return core.SIZE_FRACTION, constant(n, frac)
