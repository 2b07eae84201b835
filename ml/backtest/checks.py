"""Compiled one-pass checks of a backtest's inputs and the equity curve's summary statistics.

Each input check only answers "all good?" (or where the first problem is) in a single pass
over the arrays, without the temporaries numpy's vectorised checks allocate; the callers keep
their numpy code to word the error when a check fails, so the messages stay as they were.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def strictly_increasing(ts):  # pragma: no cover - numba
    """Whether every value is above the one before it."""
    good = True
    for i in range(1, ts.shape[0]):  # no early exit: the loop vectorises
        good &= ts[i] > ts[i - 1]
    return good


@njit(cache=True)
def side_ok(o, h, lo, c):  # pragma: no cover - numba
    """Whether one side's prices are finite and > 0 and high/low bracket open/close."""
    good = True
    for i in range(o.shape[0]):  # no early exit and no branches: the loop vectorises
        oi, hi, li, ci = o[i], h[i], lo[i], c[i]
        good &= (oi > 0.0) & (oi < np.inf) & (hi > 0.0) & (hi < np.inf)
        good &= (li > 0.0) & (li < np.inf) & (ci > 0.0) & (ci < np.inf)
        good &= (hi >= max(oi, ci) - 1e-12) & (li <= min(oi, ci) + 1e-12)
    return good


@njit(cache=True)
def not_crossed(bo, bc, ao, ac):  # pragma: no cover - numba
    """Whether the ask is at or above the bid at every open and close."""
    good = True
    for i in range(bo.shape[0]):
        good &= (ao[i] >= bo[i]) & (ac[i] >= bc[i])
    return good


@njit(cache=True)
def is_position_signal(values):  # pragma: no cover - numba
    """Whether every value is -1, 0 or +1 (NaN is not)."""
    good = True
    for i in range(values.shape[0]):  # no early exit and no branches: the loop vectorises
        v = values[i]
        good &= (v == 0) | (v == 1) | (v == -1)
    return good


@njit(cache=True, inline="always")
def _dd_floor(peak, max_dd):  # pragma: no cover - numba
    """The value at or below which a bar can deepen a drawdown of ``max_dd`` from ``peak``
    (see :func:`curve_stats`); every value once the drawdown reached 1 (equity <= 0)."""
    return peak * (1.0 - max_dd) + 1e-9 * peak if max_dd < 1.0 else np.inf


@njit(cache=True)
def curve_stats(values, ts_ns, position, cash):  # pragma: no cover - numba
    """Summary of an equity curve ``values`` (bar times ``ts_ns``, positions ``position``)
    that started from ``cash``: (mean return, its sample standard deviation, root mean square
    of the negative returns, max drawdown, longest time under water in ns, mean equity, share
    of bars in a position). Returns are per bar, the first from ``cash``; the drawdowns are
    those of :func:`ml.backtest.metrics.drawdown_stats`. NaN/0 where ``values`` is empty.

    One pass. The variance sums the returns' deviations from the first return rather than
    from their mean (not known until the end); a shift by any one sample keeps the sums small
    (returns scatter around their mean by much more than the mean itself), so this agrees with
    the two-pass formula to rounding.

    The drawdown ``1 - v / peak`` is divided out only for a value at or below ``floor =
    peak * (1 - max_dd) + 1e-9 * peak``: while max_dd < 1, a value above it has v / peak
    above 1 - max_dd + 1e-9 less a few rounding errors of 1e-16, so its drawdown, rounded,
    cannot beat max_dd; the division on every bar below the peak cost a third of the pass."""
    n = values.shape[0]
    if n == 0:
        return math.nan, math.nan, math.nan, 0.0, 0, cash, 0.0
    shift = (values[0] - cash) / cash
    d_sum = 0.0
    d_sq = 0.0
    down = 0.0
    eq_sum = 0.0
    held = 0
    peak = -np.inf
    peak_at = 0
    max_dd = 0.0
    floor = -np.inf  # values above it cannot deepen the drawdown
    longest = 0
    prev = cash
    for i in range(n):
        v = values[i]
        r = (v - prev) / prev
        d = r - shift  # products, not ** 2: numba calls pow for that
        d_sum += d
        d_sq += d * d
        m = min(r, 0.0)
        down += m * m
        eq_sum += v
        held += position[i] != 0
        if v >= peak:  # at a peak: the drawdown is 0; regaining one ends a time under water
            if i > 0 and prev < peak:
                longest = max(longest, ts_ns[i] - ts_ns[peak_at])
            peak = v
            peak_at = i
            floor = _dd_floor(peak, max_dd)
        elif v <= floor and peak > 0:
            dd = 1.0 - v / peak
            if dd > max_dd:
                max_dd = dd
                floor = _dd_floor(peak, max_dd)
        prev = v
    longest = max(longest, ts_ns[-1] - ts_ns[peak_at])  # the last one may still be open
    mean = shift + d_sum / n
    sd = math.sqrt(max(d_sq - d_sum * d_sum / n, 0.0) / (n - 1)) if n > 1 else math.nan
    return mean, sd, math.sqrt(down / n), max_dd, longest, eq_sum / n, held / n
