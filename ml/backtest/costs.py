"""The trading cost model: commission, slippage and swap (the spread comes from the bars)."""

from __future__ import annotations

from dataclasses import dataclass

from ml.backtest.errors import BacktestError


@dataclass(frozen=True)
class CostModel:
    """Costs charged on top of the bid/ask spread that every fill already pays.

    commission_per_lot: account currency per lot per side (a lot is ``instrument.contract_size``
    units). commission_rate: fraction of the traded notional per side. slippage_pips and
    slippage_spread_frac add an adverse price move to every market and stop fill (take-profit
    fills are limit orders and get their price). apply_swap: charge the instrument's overnight swap
    at the 22:00 UTC rollover, tripled on Wednesdays. P&L is in the instrument's quote currency,
    which is taken as the account currency.
    """

    commission_per_lot: float = 0.0
    commission_rate: float = 0.0
    slippage_pips: float = 0.0
    slippage_spread_frac: float = 0.0
    apply_swap: bool = True

    def __post_init__(self) -> None:
        names = ("commission_per_lot", "commission_rate", "slippage_pips", "slippage_spread_frac")
        for name in names:
            value = getattr(self, name)
            if not value >= 0.0:  # also rejects NaN
                raise BacktestError(f"CostModel.{name} must be >= 0, got {value!r}")
