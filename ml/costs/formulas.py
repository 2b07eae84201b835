"""The cost and P&L arithmetic, one scalar function per formula.

Plain Python on floats, so that the paper broker calls them as they are and the numba kernels
compile them (``njit(inline="always")`` in :mod:`ml.backtest.step`): the backtest and the
broker price a fill, a commission, a swap and a closed trade with the same expression.

Money comes out in the account currency: ``fx`` is the quote-to-account rate at the moment
(:mod:`ml.costs.currency`), 1.0 when the instrument is quoted in the account currency.
Commission per unit is configured in the account currency already.
"""

from __future__ import annotations


def slippage(fixed: float, spread_frac: float, spread: float) -> float:
    """Adverse price move of a market (or stop) fill: a fixed distance plus a share of the spread."""
    return fixed + spread_frac * spread


def market_price(touch: float, direction: int, slip: float) -> float:
    """Fill price at ``touch`` (the ask to buy, the bid to sell): a buy (direction > 0) pays
    ``slip`` more, a sell gets ``slip`` less."""
    return touch + slip if direction > 0 else touch - slip


def commission(units: float, price: float, per_unit: float, rate: float, fx: float) -> float:
    """Commission of one side of a deal: a fee per unit (account currency) plus a fraction of
    the notional (quote currency, converted at ``fx``)."""
    return units * (per_unit + rate * price * fx)


def price_pnl(direction: int, units: float, entry: float, exit_price: float, fx: float) -> float:
    """P&L of ``units`` held long (direction > 0) or short from ``entry`` to ``exit_price``,
    converted at ``fx``."""
    return direction * units * (exit_price - entry) * fx


def swap_amount(units: float, per_unit: float, weight: float, fx: float) -> float:
    """Swap of ``units`` over ``weight`` rollovers at ``per_unit`` (quote currency) per unit and
    night (< 0: a cost), converted at ``fx``."""
    return units * per_unit * weight * fx


def units_for(notional: float, price: float, fx: float) -> float:
    """Units worth ``notional`` (account currency) at ``price``."""
    return notional / (price * fx)
