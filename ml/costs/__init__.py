"""One cost and P&L model for the backtest, the paper broker and the ledger: fill prices with
slippage, commission, overnight swap at the rollover, and P&L. Pure Python and numpy (no numba),
so the realtime service imports it without the backtest engine."""

from ml.costs.errors import InvalidCostError
from ml.costs.model import (
    CostModel,
    CostTerms,
    deal_commission,
    deal_price,
    direction,
    gross_pnl,
    required_margin,
)

__all__ = [
    "CostModel",
    "CostTerms",
    "InvalidCostError",
    "deal_commission",
    "deal_price",
    "direction",
    "gross_pnl",
    "required_margin",
]
