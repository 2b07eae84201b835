"""The backtest engine: bid/ask fills at the next open, stops inside the bar, the costs of
:mod:`ml.costs`, sizing, and metrics. ``run_backtest`` is the entry point; ``sma_grid`` runs many
SMA-crossover parameter pairs at once. Importing it loads numba; the realtime service needs only
:mod:`ml.costs` and does not.
"""

from ml.backtest.engine import TRADE_COLUMNS, BacktestResult, run_backtest
from ml.backtest.errors import BacktestError, InvalidBarsError, InvalidSignalError
from ml.backtest.grid import GRID_COLUMNS, sma_grid
from ml.costs import CostModel

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
