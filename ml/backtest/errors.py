"""The backtest exception hierarchy: every error the engine raises derives from one base."""


class BacktestError(ValueError):
    """Base class for backtest errors (bad inputs, impossible configurations)."""


class InvalidBarsError(BacktestError):
    """Bars that cannot be backtested: missing columns, unsorted or duplicate times, NaN prices."""


class InvalidSignalError(BacktestError):
    """A signal whose length or values do not fit the bars."""
