"""The instrument catalogue: price scale, pip size, contract size and swap points per symbol.

Dukascopy stores prices as integers; ``price = raw / price_scale``. JPY pairs use 1e3,
most FX pairs 1e5, metals and indices their own scales.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np

from marketdata.errors import UnknownSymbolError


@dataclass(frozen=True)
class Instrument:
    """Static facts about one tradable symbol."""

    symbol: str
    price_scale: float  # divisor from Dukascopy's raw integer price
    pip_size: float
    contract_size: float  # units per 1.0 lot
    swap_long: float = 0.0  # swap points (pips) per lot per night, long side
    swap_short: float = 0.0
    asset_class: str = "fx"

    @property
    def point(self) -> float:
        """The smallest price increment (1 / price_scale)."""
        return 1.0 / self.price_scale

    def is_trading_time(self, ts: object) -> bool:
        """True when the market is open at ``ts`` (datetime/Timestamp/ISO; naive means UTC).

        FX, metals and indices follow the FX week (Sunday 17:00 to Friday 17:00 New York);
        crypto always trades. See :mod:`marketdata.calendar`.
        """
        from marketdata.calendar import open_mask, to_ms  # calendar imports pandas: keep lazy

        return bool(open_mask(np.array([to_ms(ts)]), self.asset_class)[0])


def _fx(symbol: str, swap_long: float = -0.5, swap_short: float = -0.2) -> Instrument:
    jpy = symbol.endswith("JPY")
    return Instrument(
        symbol=symbol,
        price_scale=1e3 if jpy else 1e5,
        pip_size=0.01 if jpy else 0.0001,
        contract_size=100_000.0,
        swap_long=swap_long,
        swap_short=swap_short,
    )


_FX = [
    "EURUSD", "GBPUSD", "USDJPY", "USDCHF", "AUDUSD", "USDCAD", "NZDUSD", "EURGBP", "EURJPY",
    "GBPJPY", "EURCHF", "AUDJPY", "CHFJPY", "EURAUD", "EURCAD", "GBPCHF", "CADJPY", "NZDJPY",
    "AUDNZD", "GBPAUD",
]

CATALOGUE: dict[str, Instrument] = {s: _fx(s) for s in _FX}
CATALOGUE.update(
    {
        "XAUUSD": Instrument("XAUUSD", 1e3, 0.01, 100.0, -2.0, 0.5, "metal"),
        "XAGUSD": Instrument("XAGUSD", 1e3, 0.001, 5_000.0, -1.0, 0.2, "metal"),
        "BTCUSD": Instrument("BTCUSD", 10.0, 1.0, 1.0, -10.0, -10.0, "crypto"),
        "USA500IDXUSD": Instrument("USA500IDXUSD", 1e3, 0.1, 1.0, -0.5, -0.5, "index"),
        "DEUIDXEUR": Instrument("DEUIDXEUR", 1e3, 0.1, 1.0, -0.5, -0.5, "index"),
    }
)


def get_instrument(symbol: str) -> Instrument:
    """Return the catalogue entry for ``symbol`` or raise :class:`UnknownSymbolError`."""
    key = symbol.upper().replace("/", "")
    try:
        return CATALOGUE[key]
    except KeyError:
        near = difflib.get_close_matches(key, CATALOGUE, n=3, cutoff=0.5)
        raise UnknownSymbolError(symbol, near) from None
