"""The backtest engine: bid/ask fills at the next open, stops inside the bar, spread, commission,
slippage and swap costs, sizing, and metrics. ``run_backtest`` is the entry point; ``sma_grid``
runs many SMA-crossover parameter pairs at once.

The numba engine loads on first use of ``run_backtest``/``sma_grid``: the realtime service needs
only ``CostModel`` from here, and importing numba and LLVM would add ~0.3 s to its start-up.
"""

from importlib import import_module
from typing import Any

from ml.backtest.costs import CostModel
from ml.backtest.errors import BacktestError, InvalidBarsError, InvalidSignalError

_LAZY = {
    "TRADE_COLUMNS": "ml.backtest.engine",
    "BacktestResult": "ml.backtest.engine",
    "run_backtest": "ml.backtest.engine",
    "GRID_COLUMNS": "ml.backtest.grid",
    "sma_grid": "ml.backtest.grid",
}

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


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
