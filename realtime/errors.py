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


class LedgerError(RealtimeError):
    """The ledger is misconfigured or unreachable."""

    status_code = 503


class BadOrderError(RealtimeError):
    """The order itself is invalid (symbol, volume, prices, sl/tp side)."""

    status_code = 422


class CloseVolumeError(BadOrderError):
    """A close asks for more lots than the position has left once its pending closes count."""


class NotFoundError(RealtimeError):
    """No such order or position."""

    status_code = 404


class ConflictError(RealtimeError):
    """The request conflicts with the resource's state (cancel a filled order...)."""

    status_code = 409


class IdempotencyConflictError(ConflictError):
    """A client_order_id already names a different order of this user."""


class RiskRejectedError(RealtimeError):
    """A risk limit refuses the order."""

    status_code = 403


class KillSwitchError(RiskRejectedError):
    """The kill switch has halted trading; ``engaged_now`` when the very check that raised this
    engaged it (a drawdown found before an order), so its actions are still to run."""

    status_code = 423

    def __init__(self, message: str, engaged_now: bool = False):
        super().__init__(message)
        self.engaged_now = engaged_now


class SignalsOnlyError(RealtimeError):
    """The served model never passed the promotion gate: signals only, no orders."""

    status_code = 423


class BrokerError(RealtimeError):
    """The broker refused the order; ``retcode`` carries the broker's own code when it has one."""

    status_code = 422

    def __init__(self, message: str, retcode: int | None = None):
        super().__init__(message)
        self.retcode = retcode


class BrokerUnavailableError(BrokerError):
    """The broker cannot be reached (terminal down, connection lost, timeout)."""

    status_code = 503


class RateLimitedError(RealtimeError):
    """Too many requests for this key."""

    status_code = 429

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class FeedError(RealtimeError):
    """A market-data feed failed."""

    status_code = 503


class ModelReloadError(RealtimeError):
    """A reload could not load the alias's new version; ``serving_version`` still serves.

    502: the registry handed back something unusable (a corrupt artifact, a model needing
    features this service does not compute, an unreadable alias); this service is fine.
    """

    status_code = 502

    def __init__(self, message: str, serving_version: str):
        super().__init__(message)
        self.serving_version = serving_version
