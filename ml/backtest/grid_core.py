"""The numba kernels of the SMA-crossover grid: pandas-exact rolling means, the cells, the grid.

The trade step (fills, costs, stops, swap, the mark) is :mod:`ml.backtest.step`, shared with
:func:`ml.backtest.core.simulate`; :mod:`ml.backtest.jitcache` empties this module's numba cache
when that step or the cost formulas change, which numba's cache would not notice by itself.

**Rolling means.** ``advance_positive_pair`` reproduces pandas' ``Series.rolling(w).mean()``
bit for bit (the same Kahan-compensated add and remove updates with separate compensations, the
shortcut that returns the value itself over a run of equal values, the clamp of a rounded negative
mean to zero) for finite values > 0, such as the mid prices the grid gets; it is resumable, so
the grid advances it chunk by chunk. The SMA crossover of :mod:`ml.backtest.strategies` is defined
on pandas' numbers, and a strict cross can flip on the last bit; the tests pin it to pandas.

**Cells.** A cell follows :func:`ml.backtest.core.simulate` through the same shared step (fills
at the next open on the right side, slippage, commission, swaps, stops and take-profits with the
pessimistic tie rule, the close at the end) but keeps only running totals: final equity, closed
trades and max drawdown. Between crosses, when no stop is set, it skips ahead with a tight scan
of its two averages (marking the equity for the drawdown on the way when asked), stopping only
where they cross or a held position pays swap. The drawdown is
:func:`ml.backtest.metrics.drawdown_stats`' ``1 - equity / peak``, but divided out only on bars
that can beat the worst so far: a bar whose equity is above ``peak * (1 - max_dd) + 1e-9 *
peak`` provably cannot.

**Grid.** Each parallel part owns a block of cells and walks the bars in chunks: per chunk it
advances the averages its cells use, then each of its cells, which resume from saved state. So
a chunk's averages and prices are read from cache by every cell, no matrix of averages is
allocated, and one parallel region means no barrier per chunk, which matters on a busy machine.
The tests prove every cell equal to the plain-Python reference loop and to ``run_backtest``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from ml.backtest import jitcache, step
from ml.backtest.step import (
    bar_stop,
    close_trade,
    commission,
    entry_units,
    mark,
    market_price,
    slippage,
    swap_due,
)
from ml.costs import formulas

CHUNK = 4096  # bars per chunk: a part's averages and the prices of a chunk fit in a core's L2

# Columns of the array that grid_cells returns
G_FINAL_EQUITY, G_TRADES, G_MAX_DRAWDOWN = range(3)
N_GRID_FIELDS = 3

# Columns of a cell's float state (fst) and integer state (ist)
(F_CASH, F_UNITS, F_ENTRY, F_STOP, F_TARGET, F_EQUITY, F_PEAK, F_MAX_DD,
 F_THRESHOLD) = range(9)
N_FLOAT_STATE = 9
I_POSITION, I_CLOSED, I_BLOCKED, I_SIGNAL = range(4)
N_INT_STATE = 4


class CellFlags(NamedTuple):
    """What every cell of one grid does: the signal after a cross down (-1, or 0 long-only),
    whether stops, swaps and the per-bar drawdown marks are on."""

    short_value: int
    stops: bool
    swaps: bool
    drawdown: bool


@njit(cache=True, inline="always")
def _kahan(sum_x, comp, val):  # pragma: no cover - numba
    y = val - comp
    t = sum_x + y
    return t, t - sum_x - y


@njit(cache=True, inline="always")
def _clamp(result):  # pragma: no cover - numba
    # pandas: a window without negative values never averages below zero (-0.0 is kept)
    return 0.0 if result < 0 else result


@njit(cache=True)
def positive_state(values, rows):  # pragma: no cover - numba
    """Fresh resumable state for ``rows`` windows: (sum, add and remove compensations, length
    of the current run of equal values, that value) per row."""
    state = np.zeros((rows, 5))
    state[:, 4] = values[0]
    return state


@njit(cache=True)
def advance_positive_pair(values, lo, hi, w1, w2, state, r1, r2, out1, out2,
                          base):  # pragma: no cover - numba
    """Advance the means of windows w1 and w2 (state rows r1 != r2) over bars lo..hi-1,
    writing bar i's mean to ``out[i - base]``; bars before lo must have been advanced already.

    For finite values > 0 (prices), as the grid has: no NaN to skip and no negative value to
    count, so of pandas' sign clamps only the one of a rounded negative mean to zero is left.
    A one-bar window needs no restart here: a run of one equal value returns the value itself.
    The two windows' update chains are independent, so the CPU overlaps them.
    """
    s1, ca1, cr1, m1, p1 = state[r1, 0], state[r1, 1], state[r1, 2], int(state[r1, 3]), state[r1, 4]
    s2, ca2, cr2, m2, p2 = state[r2, 0], state[r2, 1], state[r2, 2], int(state[r2, 3]), state[r2, 4]
    for i in range(lo, hi):
        val = values[i]
        if i >= w1:
            s1, cr1 = _kahan(s1, cr1, -values[i - w1])
        if i >= w2:
            s2, cr2 = _kahan(s2, cr2, -values[i - w2])
        s1, ca1 = _kahan(s1, ca1, val)
        s2, ca2 = _kahan(s2, ca2, val)
        if val == p1:
            m1 += 1
        else:
            m1, p1 = 1, val
        if val == p2:
            m2 += 1
        else:
            m2, p2 = 1, val
        out1[i - base] = np.nan if i + 1 < w1 else (p1 if m1 >= w1 else _clamp(s1 / w1))
        out2[i - base] = np.nan if i + 1 < w2 else (p2 if m2 >= w2 else _clamp(s2 / w2))
    state[r1, 0], state[r1, 1], state[r1, 2], state[r1, 3], state[r1, 4] = s1, ca1, cr1, m1, p1
    state[r2, 0], state[r2, 1], state[r2, 2], state[r2, 3], state[r2, 4] = s2, ca2, cr2, m2, p2


@njit(cache=True, parallel=True)
def rolling_means(values, windows):  # pragma: no cover - numba
    """Row k = pandas ``Series(values).rolling(windows[k]).mean()``, bit for bit, for finite
    ``values`` > 0; computed with the grid's own chunked updates, windows two by two in
    parallel (the tests pin it against pandas; benchmarks use it to build baseline signals)."""
    m = windows.shape[0]
    n = values.shape[0]
    padded = np.append(windows, windows[-1:]) if m % 2 else windows
    out = np.empty((padded.shape[0], n))
    for p in prange(padded.shape[0] // 2):
        state = positive_state(values, 2)
        for lo in range(0, n, CHUNK):
            advance_positive_pair(values, lo, min(lo + CHUNK, n), padded[2 * p],
                                  padded[2 * p + 1], state, 0, 1, out[2 * p], out[2 * p + 1], 0)
    return out[:m]


@njit(cache=True, inline="always")
def _fill(i, want, pos_dir, units, entry_px, cash, closed, px, plan, c):  # pragma: no cover
    """Move from ``pos_dir`` to ``want`` at bar i's open; returns the new position state."""
    slip = slippage(c.slip_fixed, c.slip_frac, px.ao[i] - px.bo[i])
    if pos_dir != 0:
        fill = market_price(px.bo[i] if pos_dir > 0 else px.ao[i], -pos_dir, slip)
        cash = close_trade(fill, pos_dir, units, entry_px, cash, c, i)[0]
        closed += 1
        pos_dir = 0
        units = 0.0
    if want != 0:
        fill = market_price(px.ao[i] if want > 0 else px.bo[i], want, slip)
        u = entry_units(plan, i, cash, fill, c)
        if u > 0.0 and np.isfinite(u):
            cash -= commission(u, fill, c.comm_per_unit, c.comm_rate, c.fx[i])
            pos_dir = want
            units = u
            entry_px = fill
    return pos_dir, units, entry_px, cash, closed


@njit(cache=True, inline="always")
def _threshold(peak, max_dd):  # pragma: no cover - numba
    """Equity below which a bar may set a new max drawdown (see the module docstring)."""
    if not peak > 0:
        return -np.inf  # no positive peak: the drawdown is 0 by definition
    if max_dd >= 1e3:
        return np.inf  # beyond the margin's proof: check every bar
    return peak * (1.0 - max_dd) + 1e-9 * peak


@njit(cache=True, inline="always")
def _mark(eq, peak, max_dd, thr):  # pragma: no cover - numba
    if eq > peak:  # a new peak: its own drawdown is 0
        peak = eq
        thr = _threshold(peak, max_dd)
    elif eq < thr:
        dd = 1.0 - eq / peak
        if dd > max_dd:
            max_dd = dd
            thr = _threshold(peak, max_dd)
    return peak, max_dd, thr


@njit(cache=True)
def _skip(i, stop, fast, slow, off, swaps, px, c, marks, pos_dir, cash, units, entry_px, eq, peak,
          max_dd, thr):  # pragma: no cover - numba
    """From bar i, the first bar before ``stop`` (else ``stop``) where the averages (bar j at
    ``[j - off]``) cross, or a rollover falls while ``swaps``; the bars passed over are only
    marked (when ``marks``). Returns (that bar, equity, peak, max drawdown, threshold)."""
    fp, sp = fast[i - 1 - off], slow[i - 1 - off]
    while i < stop:
        fi, si = fast[i - off], slow[i - off]
        if (fp < sp and fi > si) or (fp > sp and fi < si):
            break
        if swaps and c.swap_mult[i] > 0.0:
            break
        if marks:
            eq = mark(pos_dir, cash, units, entry_px, px.bc[i], px.ac[i], c.fx[i])
            peak, max_dd, thr = _mark(eq, peak, max_dd, thr)
        fp, sp = fi, si
        i += 1
    return i, eq, peak, max_dd, thr


@njit(cache=True)
def new_state(m, cash0):  # pragma: no cover - numba
    """Float and integer state of m cells before the first bar: flat, ``cash0``, no peak yet."""
    fst = np.zeros((m, N_FLOAT_STATE))
    fst[:, F_CASH] = cash0
    fst[:, F_STOP] = np.nan
    fst[:, F_TARGET] = np.nan
    fst[:, F_EQUITY] = cash0
    fst[:, F_PEAK] = -np.inf
    fst[:, F_THRESHOLD] = -np.inf
    return fst, np.zeros((m, N_INT_STATE), dtype=np.int64)


@njit(cache=True)
def cell_chunk(k, lo, hi, fast, slow, off, px, plan, c, flags, fst, ist):  # pragma: no cover
    """Advance cell k over bars lo..hi-1, resuming from and saving to its rows of ``fst`` and
    ``ist`` (see ``new_state``); bar i's averages are ``fast[i - off]`` and ``slow[i - off]``;
    ``flags`` is a :class:`CellFlags`."""
    n = px.bo.shape[0]
    short_value, stops, swaps, drawdown = flags
    cash, units, entry_px, sl_px, tp_px = (
        fst[k, F_CASH], fst[k, F_UNITS], fst[k, F_ENTRY], fst[k, F_STOP], fst[k, F_TARGET])
    eq, peak, max_dd, thr = fst[k, F_EQUITY], fst[k, F_PEAK], fst[k, F_MAX_DD], fst[k, F_THRESHOLD]
    pos_dir, closed = ist[k, I_POSITION], ist[k, I_CLOSED]
    blocked, sig = ist[k, I_BLOCKED], ist[k, I_SIGNAL]
    last_quick = min(hi, n - 1)  # the last bar is always processed in full
    i = lo
    while i < hi:
        if not stops and sig == pos_dir and i > 0:
            # nothing to do until the averages cross or a held position pays swap: skip ahead
            i, eq, peak, max_dd, thr = _skip(i, last_quick, fast, slow, off,
                                             swaps and pos_dir != 0, px, c, drawdown,
                                             pos_dir, cash, units, entry_px, eq, peak,
                                             max_dd, thr)
            if i >= hi:
                break
        if i > 0:
            want = sig  # decided at the previous bar's close
            if blocked != 0:  # after a stop, flat until the signal changes direction
                if want == blocked:
                    want = 0
                else:
                    blocked = 0
            if want != pos_dir:
                pos_dir, units, entry_px, cash, closed = _fill(
                    i, want, pos_dir, units, entry_px, cash, closed, px, plan, c)
                if pos_dir != 0:  # a new position: its stop and target levels
                    sl_px = entry_px - pos_dir * plan.sl_dist
                    tp_px = entry_px + pos_dir * plan.tp_dist
            f0, s0, f1, s1 = fast[i - 1 - off], slow[i - 1 - off], fast[i - off], slow[i - off]
            if f0 < s0 and f1 > s1:
                sig = 1
            elif f0 > s0 and f1 < s1:
                sig = short_value
        if stops and pos_dir != 0:
            if pos_dir > 0:
                s_o, s_lo, s_hi = px.bo[i], px.bl[i], px.bh[i]
            else:
                s_o, s_lo, s_hi = px.ao[i], px.al[i], px.ah[i]
            reason, fill, _ = bar_stop(pos_dir, sl_px, tp_px, s_o, s_lo, s_hi, px.spread_est[i],
                                       c.slip_fixed, c.slip_frac)
            if reason >= 0:
                cash = close_trade(fill, pos_dir, units, entry_px, cash, c, i)[0]
                closed += 1
                blocked, pos_dir, units = pos_dir, 0, 0.0
        if swaps and pos_dir != 0 and c.swap_mult[i] > 0.0:
            cash += swap_due(pos_dir, units, i, c)
        if i == n - 1 and plan.close_at_end and pos_dir != 0:
            slip = slippage(c.slip_fixed, c.slip_frac, px.ac[i] - px.bc[i])
            fill = market_price(px.bc[i] if pos_dir > 0 else px.ac[i], -pos_dir, slip)
            cash = close_trade(fill, pos_dir, units, entry_px, cash, c, i)[0]
            closed += 1
            pos_dir, units = 0, 0.0
        if drawdown or i == n - 1:
            eq = mark(pos_dir, cash, units, entry_px, px.bc[i], px.ac[i], c.fx[i])
            peak, max_dd, thr = _mark(eq, peak, max_dd, thr)
        i += 1
    fst[k, F_CASH], fst[k, F_UNITS], fst[k, F_ENTRY], fst[k, F_STOP], fst[k, F_TARGET] = (
        cash, units, entry_px, sl_px, tp_px)
    fst[k, F_EQUITY], fst[k, F_PEAK], fst[k, F_MAX_DD], fst[k, F_THRESHOLD] = (
        eq, peak, max_dd, thr)
    ist[k, I_POSITION], ist[k, I_CLOSED], ist[k, I_BLOCKED], ist[k, I_SIGNAL] = (
        pos_dir, closed, blocked, sig)


@njit(cache=True)
def _part(first, last, values, windows, fast_row, slow_row, px, plan, c, flags, fst,
          ist):  # pragma: no cover - numba
    """Run cells first..last-1 chunk by chunk, computing the averages they use as it goes."""
    n = values.shape[0]
    used = np.zeros(windows.shape[0], dtype=np.bool_)
    for k in range(first, last):
        used[fast_row[k]] = True
        used[slow_row[k]] = True
    local = np.flatnonzero(used)
    if local.shape[0] % 2:  # the averages go two by two; an odd one gets a throwaway twin
        local = np.append(local, local[-1])
    slot = np.empty(windows.shape[0], dtype=np.int64)
    for q in range(local.shape[0]):
        slot[local[q]] = q
    state = positive_state(values, local.shape[0])
    buf = np.empty((local.shape[0], CHUNK + 1))  # column 0: the previous chunk's last bar
    for lo in range(0, n, CHUNK):
        hi = min(lo + CHUNK, n)
        if lo > 0:
            buf[:, 0] = buf[:, CHUNK]
        for q in range(0, local.shape[0], 2):
            advance_positive_pair(values, lo, hi, windows[local[q]], windows[local[q + 1]],
                                  state, q, q + 1, buf[q], buf[q + 1], lo - 1)
        for k in range(first, last):
            cell_chunk(k, lo, hi, buf[slot[fast_row[k]]], buf[slot[slow_row[k]]], lo - 1, px,
                       plan, c, flags, fst, ist)


@njit(cache=True, parallel=True)
def grid_cells(values, windows, fast_row, slow_row, long_only, px, plan, c, drawdown=True,
               threads=2):  # pragma: no cover - numba
    """Row k: the cell of the ``windows[fast_row[k]]``-bar mean of ``values`` (finite, > 0)
    against the ``windows[slow_row[k]]``-bar one, traded on ``px`` with ``plan`` and charges
    ``c`` (:mod:`ml.backtest.step`), as (final equity, closed trades, max drawdown as a
    positive fraction of the running peak). Without ``drawdown`` the cells skip the per-bar
    equity marks and report NaN drawdowns.

    Each of ``threads`` parallel parts owns a block of cells and walks the bars in chunks of
    ``CHUNK``: it advances the pandas-exact rolling means its cells use over the chunk, then
    every one of its cells, so averages and prices are read from cache, no averages matrix is
    ever allocated, and one parallel region means no barrier per chunk on a busy machine."""
    m = fast_row.shape[0]
    stops = np.isfinite(plan.sl_dist) or np.isfinite(plan.tp_dist)
    swaps = (c.swap_long != 0.0 or c.swap_short != 0.0) and c.swap_mult.max() > 0.0
    flags = CellFlags(0 if long_only else -1, stops, swaps, drawdown)
    fst, ist = new_state(m, plan.cash0)
    parts = max(min(threads, m), 1)
    for part in prange(parts):
        _part(part * m // parts, (part + 1) * m // parts, values, windows, fast_row, slow_row,
              px, plan, c, flags, fst, ist)
    out = np.empty((m, N_GRID_FIELDS))
    for k in range(m):
        out[k, G_FINAL_EQUITY] = fst[k, F_EQUITY]
        out[k, G_TRADES] = ist[k, I_CLOSED]
        out[k, G_MAX_DRAWDOWN] = fst[k, F_MAX_DD] if drawdown else np.nan
    return out


jitcache.refresh_cache(globals(), (step, formulas))
