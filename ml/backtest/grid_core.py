"""Numba kernels of the SMA-crossover parameter grid: rolling means and one cell per combination.

``rolling_means`` reproduces pandas' ``Series.rolling(w).mean()`` bit for bit (the same Kahan-
compensated add/remove updates, the run-of-equal-values shortcut and the sign clamps), so the grid
sees exactly the averages that :func:`ml.backtest.strategies.sma_cross_signal` sees; a test pins
this against the installed pandas. ``grid_cells`` runs every (fast, slow) cell in parallel
(``prange``) without going back to Python: each cell derives its crossover signal on the fly and
follows the same fill, stop, cost and swap rules as :func:`ml.backtest.core.simulate`, keeping only
the running totals instead of the equity curve and the trade table.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ml.backtest.core import SIZE_FRACTION, SIZE_UNITS

# Columns of the cell array that grid_cells returns
G_FINAL_EQUITY, G_TRADES, G_MAX_DRAWDOWN = range(3)
N_GRID_FIELDS = 3


@njit(cache=True)
def _rolling_mean(values, window, out):  # pragma: no cover - numba
    n = values.shape[0]
    nobs = 0
    neg_ct = 0
    sum_x = 0.0
    comp_add = 0.0
    comp_rem = 0.0
    same = 0
    prev = np.nan
    for i in range(n):
        s = max(i + 1 - window, 0)
        if i == 0 or s >= i:  # (re)start the window, as pandas does when windows do not overlap
            nobs, neg_ct, sum_x, comp_add, comp_rem, same, prev = 0, 0, 0.0, 0.0, 0.0, 0, values[s]
            first = s
        else:
            first = i
            for j in range(max(i - window, 0), s):  # remove what left the window
                val = values[j]
                if val == val:
                    nobs -= 1
                    y = -val - comp_rem
                    t = sum_x + y
                    comp_rem = t - sum_x - y
                    sum_x = t
                    if math.copysign(1.0, val) < 0:
                        neg_ct -= 1
        for j in range(first, i + 1):  # add what entered it
            val = values[j]
            if val == val:
                nobs += 1
                y = val - comp_add
                t = sum_x + y
                comp_add = t - sum_x - y
                sum_x = t
                if math.copysign(1.0, val) < 0:
                    neg_ct += 1
                if val == prev:
                    same += 1
                else:
                    same = 1
                    prev = val
        if nobs >= window and nobs > 0:
            result = sum_x / nobs
            if same >= nobs:
                result = prev
            elif neg_ct == 0 and result < 0:
                result = 0.0
            elif neg_ct == nobs and result > 0:
                result = 0.0
            out[i] = result
        else:
            out[i] = np.nan


@njit(cache=True, parallel=True)
def rolling_means(values, windows):  # pragma: no cover - numba
    """Row k = pandas ``rolling(windows[k]).mean()`` of ``values``; windows run in parallel."""
    out = np.empty((windows.shape[0], values.shape[0]))
    for k in prange(windows.shape[0]):
        _rolling_mean(values, windows[k], out[k])
    return out


@njit(cache=True)
def _cell(fast, slow, short_value, bo, bh, bl, bc, ao, ah, al, ac, spread_est, size_mode,
          size_param, unit_step, sl_dist, tp_dist, swap_mult, swap_long, swap_short,
          comm_per_unit, comm_rate, slip_fixed, slip_frac, cash0, close_at_end, has_stops,
          has_swaps):  # pragma: no cover - numba
    n = bo.shape[0]
    cash = cash0
    pos_dir = 0
    units = 0.0
    entry_px = 0.0
    sl_px = np.nan
    tp_px = np.nan
    blocked = 0
    sig = 0  # the target position decided at the previous bar's close
    closed = 0
    peak = -np.inf
    max_dd = 0.0
    eq = cash0
    for i in range(n):
        if i > 0:
            want = sig
            if blocked != 0:
                if want == blocked:
                    want = 0
                else:
                    blocked = 0
            if want != pos_dir:
                open_spread = ao[i] - bo[i]
                slip = slip_fixed + slip_frac * open_spread
                if pos_dir != 0:
                    px = bo[i] - slip if pos_dir > 0 else ao[i] + slip
                    cash += pos_dir * units * (px - entry_px) - units * (comm_per_unit
                                                                         + comm_rate * px)
                    closed += 1
                    pos_dir = 0
                    units = 0.0
                if want != 0:
                    px = ao[i] + slip if want > 0 else bo[i] - slip
                    p = size_param[i - 1]
                    if size_mode == SIZE_UNITS:
                        u = p
                    elif size_mode == SIZE_FRACTION:
                        u = p * cash / px
                    else:
                        u = (p * cash) // (px + comm_per_unit + comm_rate * px)
                    if unit_step > 0.0:
                        u = np.floor(u / unit_step + 1e-9) * unit_step
                    if u > 0.0 and np.isfinite(u):
                        cash -= u * (comm_per_unit + comm_rate * px)
                        pos_dir = want
                        units = u
                        entry_px = px
                        sl_px = px - want * sl_dist
                        tp_px = px + want * tp_dist
        # this bar's signal, traded at the next open: strict crosses, NaN never crosses
        if i > 0 and fast[i - 1] < slow[i - 1] and fast[i] > slow[i]:
            sig = 1
        elif i > 0 and fast[i - 1] > slow[i - 1] and fast[i] < slow[i]:
            sig = short_value
        if has_stops and pos_dir != 0:
            reason = -1
            px = 0.0
            if pos_dir > 0:
                o, lo, hi = bo[i], bl[i], bh[i]
                if o <= sl_px:
                    reason, px = 1, o
                elif o >= tp_px:
                    reason, px = 2, o
                elif lo <= sl_px:
                    reason, px = 1, sl_px
                elif hi >= tp_px:
                    reason, px = 2, tp_px
            else:
                o, lo, hi = ao[i], al[i], ah[i]
                if o >= sl_px:
                    reason, px = 1, o
                elif o <= tp_px:
                    reason, px = 2, o
                elif hi >= sl_px:
                    reason, px = 1, sl_px
                elif lo <= tp_px:
                    reason, px = 2, tp_px
            if reason >= 0:
                if reason == 1:  # a stop becomes a market order: it slips
                    slip = slip_fixed + slip_frac * spread_est[i]
                    px = px - slip if pos_dir > 0 else px + slip
                cash += pos_dir * units * (px - entry_px) - units * (comm_per_unit
                                                                     + comm_rate * px)
                closed += 1
                blocked = pos_dir
                pos_dir = 0
                units = 0.0
        if has_swaps and pos_dir != 0 and swap_mult[i] > 0.0:
            cash += units * (swap_long if pos_dir > 0 else swap_short) * swap_mult[i]
        if i == n - 1 and close_at_end and pos_dir != 0:
            slip = slip_fixed + slip_frac * (ac[i] - bc[i])
            px = bc[i] - slip if pos_dir > 0 else ac[i] + slip
            cash += pos_dir * units * (px - entry_px) - units * (comm_per_unit + comm_rate * px)
            closed += 1
            pos_dir = 0
            units = 0.0
        if pos_dir > 0:
            eq = cash + units * (bc[i] - entry_px)
        elif pos_dir < 0:
            eq = cash + units * (entry_px - ac[i])
        else:
            eq = cash
        if eq > peak:
            peak = eq
        if peak > 0:
            dd = 1.0 - eq / peak
            if dd > max_dd:
                max_dd = dd
    return eq, closed, max_dd


@njit(cache=True, parallel=True)
def grid_cells(means, fast_row, slow_row, long_only, bo, bh, bl, bc, ao, ah, al, ac, spread_est,
               size_mode, size_param, unit_step, sl_dist, tp_dist, swap_mult, swap_long,
               swap_short, comm_per_unit, comm_rate, slip_fixed, slip_frac, cash0,
               close_at_end):  # pragma: no cover - numba
    """One row per cell k, fast average ``means[fast_row[k]]`` against slow ``means[slow_row[k]]``:
    (final equity, closed trades, max drawdown as a positive fraction of the running peak)."""
    m = fast_row.shape[0]
    out = np.empty((m, N_GRID_FIELDS))
    short_value = 0 if long_only else -1
    has_stops = np.isfinite(sl_dist) or np.isfinite(tp_dist)
    has_swaps = (swap_long != 0.0 or swap_short != 0.0) and swap_mult.max() > 0.0
    for k in prange(m):
        eq, closed, max_dd = _cell(
            means[fast_row[k]], means[slow_row[k]], short_value, bo, bh, bl, bc, ao, ah, al, ac,
            spread_est, size_mode, size_param, unit_step, sl_dist, tp_dist, swap_mult, swap_long,
            swap_short, comm_per_unit, comm_rate, slip_fixed, slip_frac, cash0, close_at_end,
            has_stops, has_swaps)
        out[k, G_FINAL_EQUITY] = eq
        out[k, G_TRADES] = closed
        out[k, G_MAX_DRAWDOWN] = max_dd
    return out
