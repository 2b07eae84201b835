"""The marketdata exception hierarchy: every error this package raises derives from one base."""


class MarketDataError(Exception):
    """Base class for market-data errors."""


class UnknownSymbolError(MarketDataError, KeyError):
    """A symbol that the instrument catalogue does not know."""

    def __init__(self, symbol: str, suggestions: list[str]):
        self.symbol = symbol
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"unknown symbol {symbol!r}{hint}")

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.args[0]


class CorruptFileError(MarketDataError):
    """A datafeed file that cannot be decoded (bad LZMA stream or a partial record)."""


class DatafeedUnavailableError(MarketDataError):
    """The datafeed could not be reached after all retries."""


class DatafeedNotFoundError(MarketDataError):
    """The datafeed answered 404 (or another non-retryable status) for a file it should have."""


class StoreError(MarketDataError):
    """A tick/bar store that cannot be read or written (bad configuration, bad frame)."""
