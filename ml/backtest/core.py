"""The event loop of the engine, compiled with numba: fills, stops, costs and equity, bar by bar.

Timing (no look-ahead): ``signal[t]`` is decided at bar t's close and traded at bar t+1's open,
buying at the ask and selling at the bid. Stops and take-profits are checked inside each bar
against the side that would fill them (a long exits on the bid, a short on the ask). When a bar
opens beyond a level, that level fills at the open price; otherwise, when both stop and
take-profit lie inside one bar's range, the stop is assumed to fill first (pessimistic rule).
After a stop or take-profit exit the engine stays flat until the signal changes direction.
Fill prices, commission, swap and P&L come from the shared step (:mod:`ml.backtest.step`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ml.backtest import jitcache, step
from ml.backtest.step import (
    EXIT_END,
    EXIT_SIGNAL,
    SIZE_ALL_IN,
    SIZE_FRACTION,
    SIZE_UNITS,
    Charges,
    Plan,
    Prices,
    bar_stop,
    close_trade,
    entry_units,
    mark,
    market_price,
    slippage,
    swap_due,
)
from ml.costs import formulas

__all__ = [
    "SIZE_ALL_IN", "SIZE_FRACTION", "SIZE_UNITS", "Charges", "Plan", "Prices", "max_trades",
    "simulate", "simulate_into",
]

EXIT_NAMES = ("signal", "stop_loss", "take_profit", "end")

# Columns of the trade record array
(T_ENTRY_IDX, T_EXIT_IDX, T_DIR, T_UNITS, T_ENTRY_PX, T_EXIT_PX, T_REASON,
 T_COMMISSION, T_SWAP, T_SPREAD, T_SLIPPAGE, T_GROSS) = range(12)
N_TRADE_FIELDS = 12


@njit(cache=True, inline="always")
def _record_exit(trades, k, i, px, reason, comm, spread, slip, units,
                 gross):  # pragma: no cover - numba
    trades[k, T_EXIT_IDX] = i
    trades[k, T_EXIT_PX] = px
    trades[k, T_REASON] = reason
    trades[k, T_COMMISSION] += comm
    trades[k, T_SPREAD] += 0.5 * spread * units
    trades[k, T_SLIPPAGE] += slip * units
    trades[k, T_GROSS] = gross


def simulate(px: Prices, signal: np.ndarray, plan: Plan,
             c: Charges) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run the bar loop over ``px`` for ``signal`` (-1/0/+1) with ``plan`` and charges ``c``:
    (equity, position_units, trades[n_trades, N_TRADE_FIELDS]), see :func:`simulate_into`.

    The outputs are allocated here by numpy, which asks the kernel for huge pages on big
    arrays; numba's own allocations fault their memory in 4 KiB at a time, which on a million
    bars cost as much as the whole loop. The trade records get room for the most trades the
    signal allows (:func:`max_trades`): growing them inside the loop made numba count
    references on every trade, which cost about as much as the rest of the loop."""
    n = px.bo.shape[0]
    equity = np.empty(n)
    position = np.empty(n)
    trades = np.zeros((max_trades(signal), N_TRADE_FIELDS))
    n_trades = simulate_into(px, signal, plan, c, equity, position, trades)
    if trades.shape[0] > 2 * n_trades + 64:  # far fewer than the signal allowed: free the room
        return equity, position, trades[:n_trades].copy()
    return equity, position, trades[:n_trades]


@njit(cache=True)
def max_trades(signal):  # pragma: no cover - numba
    """The most trades a run of ``signal`` can open: one, plus one per change of the signal
    among the bars that trade (all but the last). An entry needs the wanted position to
    differ from the one held, which without a change of the signal only an exit makes so; a
    signal exit needs a change itself, and after a stop the engine stays flat until one."""
    changes = 0
    for i in range(1, signal.shape[0] - 1):  # no branches: the loop vectorises
        changes += signal[i] != signal[i - 1]
    return changes + 1


@njit(cache=True)
def simulate_into(px, signal, plan, c, equity, position,
                  trades):  # pragma: no cover - numba
    """Run the bar loop over ``px`` (:class:`~ml.backtest.step.Prices`) for ``signal`` (-1/0/+1)
    with ``plan`` (:class:`~ml.backtest.step.Plan`) and charges ``c``
    (:class:`~ml.backtest.step.Charges`), writing each bar's equity and position (signed
    units) at its close into ``equity`` and ``position`` and each trade into the rows of
    ``trades`` (zeros, N_TRADE_FIELDS columns, at least :func:`max_trades` rows). Returns the
    number of trades; money (cash, equity, P&L, costs) in the account currency, each amount
    converted at the rate of the bar it is booked on."""
    n = px.bo.shape[0]
    n_trades = 0
    cash = plan.cash0
    pos_dir = 0
    units = 0.0
    entry_px = 0.0
    sl_px = np.nan
    tp_px = np.nan
    blocked = 0
    # no swap terms (swaps off): every swap would be 0, so the rollover array need not be read
    swaps = c.swap_long != 0.0 or c.swap_short != 0.0
    # no stop and no take-profit (both levels infinitely far): no bar can hit one, so its
    # low, high and spread are not read (and the loop compiles about a third faster)
    stops = plan.sl_dist < np.inf or plan.tp_dist < np.inf
    for i in range(n):
        if i > 0:
            want = int(signal[i - 1])
            if blocked != 0:
                if want == blocked:
                    want = 0
                else:
                    blocked = 0
            if want != pos_dir:
                open_spread = px.ao[i] - px.bo[i]
                slip = slippage(c.slip_fixed, c.slip_frac, open_spread)
                if pos_dir != 0:  # close at this bar's open
                    fill = market_price(px.bo[i] if pos_dir > 0 else px.ao[i], -pos_dir, slip)
                    cash, comm, gross = close_trade(fill, pos_dir, units, entry_px, cash, c, i)
                    _record_exit(trades, n_trades - 1, i, fill, EXIT_SIGNAL, comm,
                                 open_spread * c.fx[i], slip * c.fx[i], units, gross)
                    pos_dir = 0
                    units = 0.0
                if want != 0:  # open at this bar's open
                    fill = market_price(px.ao[i] if want > 0 else px.bo[i], want, slip)
                    u = entry_units(plan, i, cash, fill, c)
                    if u > 0.0 and np.isfinite(u):
                        if n_trades == trades.shape[0]:  # max_trades was wrong: stop safely
                            raise IndexError("more trades than max_trades allows")
                        comm = step.commission(u, fill, c.comm_per_unit, c.comm_rate, c.fx[i])
                        cash -= comm
                        pos_dir = want
                        units = u
                        entry_px = fill
                        sl_px = fill - want * plan.sl_dist
                        tp_px = fill + want * plan.tp_dist
                        trades[n_trades, T_ENTRY_IDX] = i
                        trades[n_trades, T_EXIT_IDX] = -1
                        trades[n_trades, T_DIR] = want
                        trades[n_trades, T_UNITS] = u
                        trades[n_trades, T_ENTRY_PX] = fill
                        trades[n_trades, T_EXIT_PX] = np.nan
                        trades[n_trades, T_COMMISSION] = comm
                        trades[n_trades, T_SPREAD] = 0.5 * open_spread * c.fx[i] * u
                        trades[n_trades, T_SLIPPAGE] = slip * c.fx[i] * u
                        n_trades += 1
        if stops and pos_dir != 0:  # stop-loss / take-profit inside the bar
            if pos_dir > 0:
                s_o, s_lo, s_hi = px.bo[i], px.bl[i], px.bh[i]
            else:
                s_o, s_lo, s_hi = px.ao[i], px.al[i], px.ah[i]
            reason, fill, slip = bar_stop(pos_dir, sl_px, tp_px, s_o, s_lo, s_hi, px.spread_est[i],
                                          c.slip_fixed, c.slip_frac)
            if reason >= 0:
                cash, comm, gross = close_trade(fill, pos_dir, units, entry_px, cash, c, i)
                _record_exit(trades, n_trades - 1, i, fill, reason, comm,
                             px.spread_est[i] * c.fx[i], slip * c.fx[i], units, gross)
                blocked = pos_dir
                pos_dir = 0
                units = 0.0
        if swaps and pos_dir != 0 and c.swap_mult[i] > 0.0:
            amount = swap_due(pos_dir, units, i, c)
            cash += amount
            trades[n_trades - 1, T_SWAP] -= amount
        if i == n - 1 and plan.close_at_end and pos_dir != 0:
            close_spread = px.ac[i] - px.bc[i]
            slip = slippage(c.slip_fixed, c.slip_frac, close_spread)
            fill = market_price(px.bc[i] if pos_dir > 0 else px.ac[i], -pos_dir, slip)
            cash, comm, gross = close_trade(fill, pos_dir, units, entry_px, cash, c, i)
            _record_exit(trades, n_trades - 1, i, fill, EXIT_END, comm, close_spread * c.fx[i],
                         slip * c.fx[i], units, gross)
            pos_dir = 0
            units = 0.0
        equity[i] = mark(pos_dir, cash, units, entry_px, px.bc[i], px.ac[i], c.fx[i])
        position[i] = pos_dir * units
    return n_trades


jitcache.refresh_cache(globals(), (step, formulas))
