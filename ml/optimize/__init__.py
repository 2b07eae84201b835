"""Strategy optimisation: walk-forward grid and Optuna searches, MLflow logging, overfitting stats."""

from ml.optimize.overfitting import (
    deflated_sharpe_ratio,
    monte_carlo_drawdowns,
    probability_of_backtest_overfitting,
)
from ml.optimize.search import SearchResult, SearchSpec, optimize
from ml.optimize.walkforward import OptimizationError, WalkForward

__all__ = [
    "OptimizationError",
    "SearchResult",
    "SearchSpec",
    "WalkForward",
    "deflated_sharpe_ratio",
    "monte_carlo_drawdowns",
    "optimize",
    "probability_of_backtest_overfitting",
]
