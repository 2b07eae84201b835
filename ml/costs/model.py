"""The trading cost model: commission, slippage and swap (the spread comes from the bars or quotes).

:class:`CostModel` holds the settings; :meth:`CostModel.terms` turns them into per-unit numbers
for one instrument, which the backtest kernels take as they are and the paper broker uses
through :func:`deal_price` and :func:`deal_commission`. All of them go through
:mod:`ml.costs.formulas`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from marketdata.instruments import Instrument, get_instrument
from ml.costs import formulas
from ml.costs.currency import DEFAULT_ACCOUNT_CURRENCY
from ml.costs.errors import InvalidCostError


class CostTerms(NamedTuple):
    """A cost model applied to one instrument, per unit (not per lot), in quote currency."""

    comm_per_unit: float
    comm_rate: float
    slip_fixed: float  # price distance
    slip_frac: float  # share of the spread
    swap_long: float  # P&L per unit per rollover, < 0 is a cost
    swap_short: float


@dataclass(frozen=True)
class CostModel:
    """Costs charged on top of the bid/ask spread that every fill already pays.

    commission_per_lot: per lot per side (a lot is ``instrument.contract_size`` units).
    commission_rate: fraction of the traded notional per side. slippage_pips and
    slippage_spread_frac add an adverse price move to every market and stop fill (take-profit
    fills are limit orders and get their price). apply_swap: charge the instrument's overnight swap
    at each rollover (see :mod:`ml.costs.rollover`), tripled on Wednesdays. account_currency:
    the currency of every money figure (P&L, commission, swap, margin, equity), converted from
    the instrument's quote currency at the rate of the moment (:mod:`ml.costs.currency`);
    commission_per_lot is in it.
    """

    commission_per_lot: float = 0.0
    commission_rate: float = 0.0
    slippage_pips: float = 0.0
    slippage_spread_frac: float = 0.0
    apply_swap: bool = True
    account_currency: str = DEFAULT_ACCOUNT_CURRENCY

    def __post_init__(self) -> None:
        names = ("commission_per_lot", "commission_rate", "slippage_pips", "slippage_spread_frac")
        for name in names:
            value = getattr(self, name)
            if not value >= 0.0:  # also rejects NaN
                raise InvalidCostError(f"CostModel.{name} must be >= 0, got {value!r}")
        ccy = self.account_currency
        if not (isinstance(ccy, str) and len(ccy) == 3 and ccy.isalpha() and ccy.isupper()):
            raise InvalidCostError(f"CostModel.account_currency must be a code like 'USD', got {ccy!r}")

    def terms(self, instrument: Instrument) -> CostTerms:
        """The per-unit numbers of this model for ``instrument``."""
        pip, size = instrument.pip_size, instrument.contract_size
        return CostTerms(
            self.commission_per_lot / size, self.commission_rate,
            self.slippage_pips * pip, self.slippage_spread_frac,
            instrument.swap_long * pip if self.apply_swap else 0.0,
            instrument.swap_short * pip if self.apply_swap else 0.0,
        )


def direction(side: str) -> int:
    """+1 for "buy", -1 for "sell"."""
    return 1 if side == "buy" else -1


def deal_price(terms: CostTerms, side: str, bid: float, ask: float, limit: bool) -> float:
    """Price of a deal at the touch (ask to buy, bid to sell); a limit fill does not slip."""
    d = direction(side)
    slip = 0.0 if limit else formulas.slippage(terms.slip_fixed, terms.slip_frac, ask - bid)
    return formulas.market_price(ask if d > 0 else bid, d, slip)


def deal_commission(terms: CostTerms, instrument: Instrument, lots: float, price: float,
                    fx: float = 1.0) -> float:
    """Commission of one side of a ``lots`` deal at ``price`` in the account currency (``fx``:
    the quote-to-account rate)."""
    return formulas.commission(lots * instrument.contract_size, price, terms.comm_per_unit,
                               terms.comm_rate, fx)


def gross_pnl(symbol: str, side: str, volume: float, open_price: float, close_price: float,
              fx: float = 1.0) -> float:
    """P&L of ``volume`` lots opened at ``open_price`` and closed at ``close_price``, converted
    from the quote currency at ``fx`` (1.0: left in the quote currency)."""
    units = volume * get_instrument(symbol).contract_size
    return formulas.price_pnl(direction(side), units, open_price, close_price, fx)


def required_margin(instrument: Instrument, lots: float, price: float, leverage: float,
                    fx: float = 1.0) -> float:
    """Margin of ``lots`` at ``price`` and ``leverage``, converted at ``fx``."""
    return lots * instrument.contract_size * price / leverage * fx
