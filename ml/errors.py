"""The ml exception hierarchy."""


class MLError(Exception):
    """Base class for errors raised by the ml package."""


class NotEnoughDataError(MLError):
    """Too few rows to train or evaluate."""


class ModelNotFoundError(MLError):
    """No registered model version answers to the requested alias or number."""


class ModelLoadError(MLError):
    """A registered version whose artifact cannot be loaded as an alphaforge SignalModel."""


class InvalidBarsError(MLError):
    """Bars that cannot feed features: missing columns, NaN/inf, non-positive prices."""


class UnknownFeatureSetError(MLError):
    """A feature set name@version that is not registered."""


class TrackingUnavailableError(MLError):
    """The MLflow tracking server cannot be reached."""


class InvalidInputError(MLError, ValueError):
    """Input arrays a model cannot use: non-finite values, wrong shapes, bad labels."""


class BacktestError(MLError, ValueError):
    """Base class for backtest and cost-model errors (bad inputs, impossible configurations)."""


class LeakageError(MLError, ValueError):
    """A split or window configuration that would let training see its test period."""
