"""The realtime exception hierarchy; one handler in main.py maps it to HTTP."""


class RealtimeError(Exception):
    """Base class; ``status_code`` is the HTTP answer."""

    status_code = 500


class SymbolNotServedError(RealtimeError):
    """The symbol is not configured on this service."""

    status_code = 404


class SignalNotReadyError(RealtimeError):
    """Not enough bars have been seen to compute features yet."""

    status_code = 503


class ModelUnavailableError(RealtimeError):
    """No model answers to the configured alias."""

    status_code = 503
