"""The ml exception hierarchy."""


class MLError(Exception):
    """Base class for errors raised by the ml package."""


class NotEnoughDataError(MLError):
    """Too few rows to train or evaluate."""


class ModelNotFoundError(MLError):
    """No registered model version answers to the requested alias."""
