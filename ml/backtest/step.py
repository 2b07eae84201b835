"""The kernels' shared step: their argument records, sizing an entry, closing a trade, stop
and take-profit hits, swap and the mark to market, compiled from :mod:`ml.costs.formulas`.

Both :func:`ml.backtest.core.simulate` and the grid cells of :mod:`ml.backtest.grid_core` call
these (inlined by numba), so a trade costs the same in a single backtest, in every grid cell and
at the paper broker. The records are named tuples, which numba passes as structs.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from ml.costs import formulas

# Sizing modes
SIZE_UNITS = 0  # size_param[t] units
SIZE_FRACTION = 1  # size_param[t] * equity / fill price
SIZE_ALL_IN = 2  # whole units: floor(size_param[t] * equity / (price + commission per unit))

# Exit reasons
EXIT_SIGNAL, EXIT_STOP, EXIT_TAKE_PROFIT, EXIT_END = 0, 1, 2, 3


class Prices(NamedTuple):
    """Bid and ask open/high/low/close per bar, and the typical spread inside each bar."""

    bo: np.ndarray
    bh: np.ndarray
    bl: np.ndarray
    bc: np.ndarray
    ao: np.ndarray
    ah: np.ndarray
    al: np.ndarray
    ac: np.ndarray
    spread_est: np.ndarray


class Plan(NamedTuple):
    """How a run trades: sizing mode and per-bar parameter, unit step, stop and take-profit
    distances (inf: none), starting cash and whether the last bar closes what is open."""

    size_mode: int
    size_param: np.ndarray
    unit_step: float
    sl_dist: float
    tp_dist: float
    cash0: float
    close_at_end: bool


class Charges(NamedTuple):
    """A cost model's per-unit terms (:class:`ml.costs.CostTerms`) and, per bar, the rollovers
    (Wednesday = 3) a position held at its close pays and the quote-to-account rate that
    converts the bar's money (:func:`ml.costs.currency.bar_rates`)."""

    comm_per_unit: float
    comm_rate: float
    slip_fixed: float
    slip_frac: float
    swap_long: float
    swap_short: float
    swap_mult: np.ndarray
    fx: np.ndarray


slippage = njit(inline="always")(formulas.slippage)
market_price = njit(inline="always")(formulas.market_price)
commission = njit(inline="always")(formulas.commission)
price_pnl = njit(inline="always")(formulas.price_pnl)
swap_amount = njit(inline="always")(formulas.swap_amount)
units_for = njit(inline="always")(formulas.units_for)


@njit(inline="always")
def entry_units(plan, i, cash, px, c):  # pragma: no cover - numba
    """Units of an entry filled at ``px`` on bar i (decided at bar i-1), before the > 0 check."""
    p = plan.size_param[i - 1]
    fx = c.fx[i]
    if plan.size_mode == SIZE_UNITS:
        u = p
    elif plan.size_mode == SIZE_FRACTION:
        u = units_for(p * cash, px, fx)
    else:
        u = (p * cash) // (px * fx + c.comm_per_unit + c.comm_rate * px * fx)
    if plan.unit_step > 0.0:
        u = np.floor(u / plan.unit_step + 1e-9) * plan.unit_step
    return u


@njit(inline="always")
def close_trade(px, pos_dir, units, entry_px, cash, c, i):  # pragma: no cover - numba
    """Close ``units`` held in ``pos_dir`` from ``entry_px`` at ``px`` on bar i: (cash,
    commission, gross P&L), money in the account currency."""
    comm = commission(units, px, c.comm_per_unit, c.comm_rate, c.fx[i])
    gross = price_pnl(pos_dir, units, entry_px, px, c.fx[i])
    return cash + (gross - comm), comm, gross


@njit(inline="always")
def stop_exit(pos_dir, sl_px, tp_px, o, lo, hi):  # pragma: no cover - numba
    """(reason, level) of a stop or take-profit hit inside the bar on the side that exits
    (open, low, high), else (-1, 0). A bar that opens beyond a level fills at the open; when
    both levels lie inside the bar, the stop comes first (the pessimistic rule)."""
    if pos_dir > 0:
        if o <= sl_px:
            return EXIT_STOP, o
        if o >= tp_px:
            return EXIT_TAKE_PROFIT, o
        if lo <= sl_px:
            return EXIT_STOP, sl_px
        if hi >= tp_px:
            return EXIT_TAKE_PROFIT, tp_px
    else:
        if o >= sl_px:
            return EXIT_STOP, o
        if o <= tp_px:
            return EXIT_TAKE_PROFIT, o
        if hi >= sl_px:
            return EXIT_STOP, sl_px
        if lo <= tp_px:
            return EXIT_TAKE_PROFIT, tp_px
    return -1, 0.0


@njit(inline="always")
def bar_stop(pos_dir, sl_px, tp_px, o, lo, hi, spread, slip_fixed,
             slip_frac):  # pragma: no cover - numba
    """A stop or take-profit exit inside a bar whose exiting side (the bid for a long, the ask
    for a short) has open, low, high ``o, lo, hi`` and whose typical spread is ``spread``:
    (reason or -1, fill price, slippage). A stop becomes a market order and slips (the
    charges' ``slip_fixed`` and ``slip_frac``); a take-profit is a limit order and gets its
    price. It takes scalars, not the price and charge records: handing those records to it on
    every bar made the bar loop several times slower (numba's reference counting of the arrays
    they hold)."""
    reason, level = stop_exit(pos_dir, sl_px, tp_px, o, lo, hi)
    slip = 0.0
    if reason == EXIT_STOP:
        slip = slippage(slip_fixed, slip_frac, spread)
        level = market_price(level, -pos_dir, slip)
    return reason, level, slip


@njit(inline="always")
def swap_due(pos_dir, units, i, c):  # pragma: no cover - numba
    """Swap P&L of a position held at bar i's close (0 when no rollover falls in the bar)."""
    per_unit = c.swap_long if pos_dir > 0 else c.swap_short
    return swap_amount(units, per_unit, c.swap_mult[i], c.fx[i])


@njit(inline="always")
def mark(pos_dir, cash, units, entry_px, bid_close, ask_close, fx):  # pragma: no cover - numba
    """Equity at a bar's close (``bid_close``, ``ask_close``, rate ``fx``) with the position
    marked on the side that would exit it. Scalars, like :func:`bar_stop`: it runs every bar."""
    if pos_dir > 0:
        return cash + price_pnl(1, units, entry_px, bid_close, fx)
    if pos_dir < 0:
        return cash + price_pnl(-1, units, entry_px, ask_close, fx)
    return cash
