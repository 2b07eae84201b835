"""The event loop of the engine, compiled with numba: fills, stops, costs and equity, bar by bar.

Timing (no look-ahead): ``signal[t]`` is decided at bar t's close and traded at bar t+1's open,
buying at the ask and selling at the bid. Stops and take-profits are checked inside each bar
against the side that would fill them (a long exits on the bid, a short on the ask). When a bar
opens beyond a level, that level fills at the open price; otherwise, when both stop and
take-profit lie inside one bar's range, the stop is assumed to fill first (pessimistic rule).
After a stop or take-profit exit the engine stays flat until the signal changes direction.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Sizing modes
SIZE_UNITS = 0  # size_param[t] units
SIZE_FRACTION = 1  # size_param[t] * equity / fill price
SIZE_ALL_IN = 2  # whole units: floor(size_param[t] * equity / (price + commission per unit))

# Exit reasons
EXIT_SIGNAL, EXIT_STOP, EXIT_TAKE_PROFIT, EXIT_END = 0, 1, 2, 3
EXIT_NAMES = ("signal", "stop_loss", "take_profit", "end")

# Columns of the trade record array
(T_ENTRY_IDX, T_EXIT_IDX, T_DIR, T_UNITS, T_ENTRY_PX, T_EXIT_PX, T_REASON,
 T_COMMISSION, T_SWAP, T_SPREAD, T_SLIPPAGE, T_GROSS) = range(12)
N_TRADE_FIELDS = 12


@njit(cache=True)
def simulate(bo, bh, bl, bc, ao, ah, al, ac, spread_est, signal, size_mode, size_param,
             unit_step, sl_dist, tp_dist, swap_mult, swap_long, swap_short, comm_per_unit,
             comm_rate, slip_fixed, slip_frac, cash0, close_at_end):  # pragma: no cover - numba
    """Run the bar loop. Returns (equity, position_units, trades[n_trades, N_TRADE_FIELDS]).

    Prices are float64 arrays of equal length; ``signal`` holds -1/0/+1; ``swap_long``/``short``
    are P&L per unit per rollover (negative is a cost); ``swap_mult[t]`` counts the rollovers
    (Wednesday = 3) a position held at bar t's close pays.
    """
    n = bo.shape[0]
    equity = np.empty(n)
    position = np.zeros(n)
    # each entry needs a change of the signal since the previous one (a stop blocks re-entry in
    # the same direction until the signal turns), so changes + 1 rows always suffice
    changes = 1
    for i in range(1, n):
        if signal[i] != signal[i - 1]:
            changes += 1
    trades = np.zeros((changes + 1, N_TRADE_FIELDS))
    n_trades = 0
    cash = cash0
    pos_dir = 0
    units = 0.0
    entry_px = 0.0
    sl_px = np.nan
    tp_px = np.nan
    blocked = 0
    for i in range(n):
        if i > 0:
            want = int(signal[i - 1])
            if blocked != 0:
                if want == blocked:
                    want = 0
                else:
                    blocked = 0
            if want != pos_dir:
                open_spread = ao[i] - bo[i]
                slip = slip_fixed + slip_frac * open_spread
                if pos_dir != 0:  # close at this bar's open
                    px = bo[i] - slip if pos_dir > 0 else ao[i] + slip
                    comm = units * (comm_per_unit + comm_rate * px)
                    gross = pos_dir * units * (px - entry_px)
                    cash += gross - comm
                    k = n_trades - 1
                    trades[k, T_EXIT_IDX] = i
                    trades[k, T_EXIT_PX] = px
                    trades[k, T_REASON] = EXIT_SIGNAL
                    trades[k, T_COMMISSION] += comm
                    trades[k, T_SPREAD] += 0.5 * open_spread * units
                    trades[k, T_SLIPPAGE] += slip * units
                    trades[k, T_GROSS] = gross
                    pos_dir = 0
                    units = 0.0
                if want != 0:  # open at this bar's open
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
                        comm = u * (comm_per_unit + comm_rate * px)
                        cash -= comm
                        pos_dir = want
                        units = u
                        entry_px = px
                        sl_px = px - want * sl_dist
                        tp_px = px + want * tp_dist
                        trades[n_trades, T_ENTRY_IDX] = i
                        trades[n_trades, T_EXIT_IDX] = -1
                        trades[n_trades, T_DIR] = want
                        trades[n_trades, T_UNITS] = u
                        trades[n_trades, T_ENTRY_PX] = px
                        trades[n_trades, T_EXIT_PX] = np.nan
                        trades[n_trades, T_COMMISSION] = comm
                        trades[n_trades, T_SPREAD] = 0.5 * open_spread * u
                        trades[n_trades, T_SLIPPAGE] = slip * u
                        n_trades += 1
        if pos_dir != 0:  # stop-loss / take-profit inside the bar
            reason = -1
            px = 0.0
            if pos_dir > 0:
                o, lo, hi = bo[i], bl[i], bh[i]
                if o <= sl_px:
                    reason, px = EXIT_STOP, o
                elif o >= tp_px:
                    reason, px = EXIT_TAKE_PROFIT, o
                elif lo <= sl_px:
                    reason, px = EXIT_STOP, sl_px
                elif hi >= tp_px:
                    reason, px = EXIT_TAKE_PROFIT, tp_px
            else:
                o, lo, hi = ao[i], al[i], ah[i]
                if o >= sl_px:
                    reason, px = EXIT_STOP, o
                elif o <= tp_px:
                    reason, px = EXIT_TAKE_PROFIT, o
                elif hi >= sl_px:
                    reason, px = EXIT_STOP, sl_px
                elif lo <= tp_px:
                    reason, px = EXIT_TAKE_PROFIT, tp_px
            if reason >= 0:
                slip = 0.0
                if reason == EXIT_STOP:  # a stop becomes a market order: it slips
                    slip = slip_fixed + slip_frac * spread_est[i]
                    px = px - slip if pos_dir > 0 else px + slip
                comm = units * (comm_per_unit + comm_rate * px)
                gross = pos_dir * units * (px - entry_px)
                cash += gross - comm
                k = n_trades - 1
                trades[k, T_EXIT_IDX] = i
                trades[k, T_EXIT_PX] = px
                trades[k, T_REASON] = reason
                trades[k, T_COMMISSION] += comm
                trades[k, T_SPREAD] += 0.5 * spread_est[i] * units
                trades[k, T_SLIPPAGE] += slip * units
                trades[k, T_GROSS] = gross
                blocked = pos_dir
                pos_dir = 0
                units = 0.0
        if pos_dir != 0 and swap_mult[i] > 0.0:
            amount = units * (swap_long if pos_dir > 0 else swap_short) * swap_mult[i]
            cash += amount
            trades[n_trades - 1, T_SWAP] -= amount
        if i == n - 1 and close_at_end and pos_dir != 0:
            close_spread = ac[i] - bc[i]
            slip = slip_fixed + slip_frac * close_spread
            px = bc[i] - slip if pos_dir > 0 else ac[i] + slip
            comm = units * (comm_per_unit + comm_rate * px)
            gross = pos_dir * units * (px - entry_px)
            cash += gross - comm
            k = n_trades - 1
            trades[k, T_EXIT_IDX] = i
            trades[k, T_EXIT_PX] = px
            trades[k, T_REASON] = EXIT_END
            trades[k, T_COMMISSION] += comm
            trades[k, T_SPREAD] += 0.5 * close_spread * units
            trades[k, T_SLIPPAGE] += slip * units
            trades[k, T_GROSS] = gross
            pos_dir = 0
            units = 0.0
        if pos_dir > 0:
            equity[i] = cash + units * (bc[i] - entry_px)
        elif pos_dir < 0:
            equity[i] = cash + units * (entry_px - ac[i])
        else:
            equity[i] = cash
        position[i] = pos_dir * units
    return equity, position, trades[:n_trades]
