"""The backtest engine: bid/ask fills at the next open, stops inside the bar, spread, commission,
slippage and swap costs, sizing, and metrics. ``run_backtest`` is the entry point; ``sma_grid``
runs many SMA-crossover parameter pairs at once."""

from ml.backtest.costs import CostModel
from ml.backtest.engine import TRADE_COLUMNS, BacktestResult, run_backtest
from ml.backtest.errors import BacktestError, InvalidBarsError, InvalidSignalError
from ml.backtest.grid import GRID_COLUMNS, sma_grid

__all__ = [
    "GRID_COLUMNS",
    "TRADE_COLUMNS",
    "BacktestError",
    "BacktestResult",
    "CostModel",
    "InvalidBarsError",
    "InvalidSignalError",
    "run_backtest",
    "sma_grid",
]
