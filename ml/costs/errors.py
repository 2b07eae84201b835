"""Cost-model errors; they are backtest errors too, so one ``except BacktestError`` covers both."""

from ml.errors import BacktestError


class InvalidCostError(BacktestError):
    """A cost setting that cannot be charged (negative, NaN, an unknown currency)."""
