"""The backtest exception hierarchy: every error the engine raises derives from one base."""

from ml.errors import BacktestError

__all__ = ["BacktestError", "InvalidBarsError", "InvalidSignalError"]


class InvalidBarsError(BacktestError):
    """Bars that cannot be backtested: missing columns, unsorted or duplicate
    times, NaN, zero or negative prices."""


class InvalidSignalError(BacktestError):
    """A signal whose length, index or values do not fit the bars."""
