"""Money in the account currency: which rate converts an instrument's quote currency, and that
rate per bar from stored bars.

Every instrument in the catalogue is quoted in the currency its symbol ends with (EURUSD in USD,
GBPJPY in JPY, DEUIDXEUR in EUR). A quote currency Q converts to the account currency A through
the pair QA (multiply by its price) or AQ (divide by it): JPY to USD through USDJPY. The rate of
a bar is the conversion pair's mid at that bar's open, known when the bar's fills happen.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from marketdata.instruments import CATALOGUE, Instrument
from ml.costs.errors import InvalidCostError

DEFAULT_ACCOUNT_CURRENCY = "USD"


def quote_currency(instrument: Instrument) -> str:
    """The currency ``instrument``'s prices (and so its P&L) are in."""
    return instrument.symbol[-3:]


def conversion_pair(quote: str, account: str) -> tuple[str, bool] | None:
    """(symbol, inverted) of the pair that converts ``quote`` to ``account``; None if they are
    the same currency. ``inverted``: divide by the pair's price (USDJPY for JPY to USD)."""
    quote, account = quote.upper(), account.upper()
    if quote == account:
        return None
    if quote + account in CATALOGUE:
        return quote + account, False
    if account + quote in CATALOGUE:
        return account + quote, True
    raise InvalidCostError(f"no instrument converts {quote} to the account currency {account}")


def rate_from_mid(mid: float | np.ndarray, inverted: bool) -> float | np.ndarray:
    """Quote-to-account rate from the conversion pair's mid price."""
    return 1.0 / mid if inverted else mid


def bar_rates(instrument: Instrument, account: str, index: pd.DatetimeIndex,
              own_mid_open: np.ndarray,
              pair_mid_open: tuple[pd.DatetimeIndex, np.ndarray] | None = None) -> np.ndarray:
    """Quote-to-account rate at each bar (times ``index``) of ``instrument``: 1.0 in its own
    currency, from its own mid open when it is the conversion pair (USDJPY for a USD account),
    else from ``pair_mid_open`` (the conversion pair's bar times and mid opens), the last one at
    or before each bar. Raises :class:`InvalidCostError` when a rate is missing."""
    pair = conversion_pair(quote_currency(instrument), account)
    if pair is None:
        return np.ones(len(index))
    symbol, inverted = pair
    if symbol == instrument.symbol:
        return np.asarray(rate_from_mid(own_mid_open, inverted), dtype=np.float64)
    if pair_mid_open is None or len(pair_mid_open[0]) == 0:
        raise InvalidCostError(
            f"{instrument.symbol} trades in {quote_currency(instrument)}: converting to {account} "
            f"needs {symbol} bars (pass them as fx_bars)")
    ts, mid = pair_mid_open
    at = np.searchsorted(ts.asi8, index.asi8, side="right") - 1
    if (at < 0).any():
        raise InvalidCostError(f"no {symbol} bar at or before {index[int(np.argmax(at < 0))]}")
    return np.asarray(rate_from_mid(mid[at], inverted), dtype=np.float64)


def fx_symbol(instrument: Instrument, account: str) -> str | None:
    """The symbol whose stored bars a backtest of ``instrument`` needs to convert its money to
    ``account`` (USDJPY for GBPJPY in USD); None when its own prices suffice."""
    pair = conversion_pair(quote_currency(instrument), account)
    if pair is None or pair[0] == instrument.symbol:
        return None
    return pair[0]


class LiveRates:
    """The latest quote-to-account rate per currency, from the quotes of conversion pairs as they
    arrive (USDJPY's mid converts JPY to USD): the live counterpart of :func:`bar_rates`.
    Not thread-safe: its owner (the paper broker) calls it under its own lock."""

    def __init__(self, account: str = DEFAULT_ACCOUNT_CURRENCY):
        self.account = account.upper()
        self._rates: dict[str, float] = {self.account: 1.0}

    def update(self, symbol: str, bid: float, ask: float) -> None:
        """Take a quote of ``symbol``; it sets a rate when it is a conversion pair."""
        base, quote = symbol[:3], symbol[-3:]
        if len(symbol) != 6 or bid <= 0 or ask <= 0:
            return
        mid = 0.5 * (bid + ask)
        if quote == self.account:
            self._rates[base] = mid
        elif base == self.account:
            self._rates[quote] = 1.0 / mid

    def rate(self, instrument: Instrument) -> float | None:
        """Quote-to-account rate for ``instrument``'s money; None until its pair has quoted."""
        return self._rates.get(quote_currency(instrument))
