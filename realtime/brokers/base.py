"""The broker interface and the plain records that cross it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from realtime.errors import BrokerUnavailableError

Side = Literal["buy", "sell"]


class BrokerOutcomeUnknownError(BrokerUnavailableError):
    """The order may have reached the broker but no answer came back (no reply, timeout, lost
    connection): the ledger records it as ``unknown`` and reconciliation settles it later."""


@dataclass(frozen=True)
class Quote:
    """Top of book for one symbol; ``ts`` is the quote time (UTC)."""

    symbol: str
    bid: float
    ask: float
    ts: dt.datetime


@dataclass(frozen=True)
class OrderIntent:
    """What the ledger asks the broker to do. ``ref`` is the ledger order id, echoed back.

    ``close_position`` is the broker's id of the position this order closes, if any.
    """

    ref: int
    symbol: str
    side: Side
    type: Literal["market", "limit"]
    volume: float
    price: float | None = None
    sl: float | None = None
    tp: float | None = None
    close_position: str | None = None


@dataclass(frozen=True)
class ExecReport:
    """The broker's answer: ``filled`` (with price) or ``placed`` (a working limit order).

    ``ref`` is the ledger order the execution belongs to; a deal the broker made on its own
    (a stop-loss, take-profit or stop-out closing a position) has no ``ref``, names the position
    in ``broker_position_id`` and says why in ``reason`` ("sl", "tp", "stop_out", "broker").
    ``commission`` is in the account currency; ``fx`` is the rate that converted the symbol's
    quote currency to it at the deal (1.0 when they are the same), which the ledger applies to
    the P&L it computes from prices.
    """

    status: Literal["filled", "placed"]
    broker_order_id: str
    price: float | None = None
    volume: float = 0.0
    commission: float = 0.0
    broker_deal_id: str | None = None
    broker_position_id: str | None = None
    ts: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    ref: int | None = None
    reason: str | None = None
    fx: float = 1.0


@dataclass(frozen=True)
class SwapReport:
    """Overnight swap a position paid (``amount`` < 0) or earned at one rollover: ``rollover`` is
    the 17:00 New York instant (UTC), ``weight`` the nights it counts for (3 on Wednesdays). The ledger books
    it once per (position, rollover)."""

    broker_position_id: str
    symbol: str
    side: Side
    volume: float
    rollover: dt.datetime
    weight: int
    amount: float


@dataclass(frozen=True)
class BrokerPosition:
    """A position as the broker sees it; ``ref`` is the ledger order id that opened it, if known."""

    broker_position_id: str
    symbol: str
    side: Side
    volume: float
    price_open: float
    ref: int | None = None
    sl: float | None = None
    tp: float | None = None
    swap: float = 0.0  # accrued so far, in the broker's currency (a broker that ``charges_swap``)


@dataclass(frozen=True)
class AccountState:
    """Balance, equity and used margin in the account currency; ``swap``: the part of equity
    that is swap accrued on open positions the ledger books as realised (``charges_swap``), so
    that the daily-loss check does not count it twice."""

    balance: float
    equity: float
    margin: float
    currency: str = "USD"
    swap: float = 0.0


@dataclass(frozen=True)
class BrokerCapabilities:
    """What a broker can do and needs, so the service asks this rather than which broker it has.

    ``in_process``: its fills happen in this process in microseconds (no network), so an order
    may run inline on the event loop and book its fill in the order's own ledger transaction.
    ``priced_by_feed``: the service's feed prices it (``update_quote``); a remote broker quotes
    itself. ``reports_own_deals``: the deals it makes on its own (resting limit fills, sl/tp
    closes, swap) come back from the ``update_quote`` call that made them, for the caller to
    book. ``restored_from_ledger``: it keeps no state across restarts, so start-up rebuilds its
    account from the ledger (``restore``).
    ``needs_sync``: it acts out of the service's sight (a terminal, a server), so a periodic sync
    reads its deals back. ``keeps_history``: its ``market_data`` offers ticks and closed bars.
    ``charges_swap``: it charges overnight swap itself and reports each position's running
    total (:class:`SwapCharging`), which the sync books.
    """

    in_process: bool = False
    priced_by_feed: bool = False
    reports_own_deals: bool = False
    restored_from_ledger: bool = False
    needs_sync: bool = False
    keeps_history: bool = False
    charges_swap: bool = False


@runtime_checkable
class Broker(Protocol):
    """What the order service needs from any broker. Methods raise BrokerError subclasses."""

    name: str
    capabilities: BrokerCapabilities

    @property
    def market_data(self) -> Any:
        """The API its ticks and bars are read from (the MetaTrader5 module, a bridge or a
        simulator) when ``capabilities.keeps_history``; None otherwise."""
        ...

    def submit(self, intent: OrderIntent) -> ExecReport:
        """Send one order; a market order comes back filled, a limit order placed or filled."""
        ...

    def cancel(self, broker_order_id: str) -> None:
        """Cancel a working order."""
        ...

    def positions(self) -> list[BrokerPosition]:
        """Open positions at the broker."""
        ...

    def open_orders(self) -> list[str]:
        """Ids of working (pending) orders at the broker."""
        ...

    def account(self) -> AccountState:
        """Balance, equity and margin."""
        ...

    def quote(self, symbol: str) -> Quote | None:
        """The latest quote the broker prices against, if any."""
        ...

    def ping(self) -> bool:
        """True when the broker is reachable."""
        ...

    def fills_for(self, ref: int) -> ExecReport | None:
        """The execution of ledger order ``ref`` if the broker has one (used on restart)."""
        ...

    def working_order(self, ref: int) -> str | None:
        """The broker id of ledger order ``ref`` if it is working (pending) at the broker."""
        ...

    def position_closes(self, broker_position_id: str) -> list[ExecReport]:
        """The deals that closed (part of) a position, oldest first; ``ref`` set when one of the
        ledger's orders made the deal, else ``reason`` says why the broker closed it."""
        ...


class LocalAccount(Protocol):
    """What a broker whose account lives in this process (the paper broker) offers on top of
    :class:`Broker`, as its capabilities say: quotes from the service's feed
    (``priced_by_feed``), the deals each quote made returned to whoever fed it
    (``reports_own_deals``), and an account rebuilt from the ledger on start-up
    (``restored_from_ledger``). It holds no reference to its owner: the owner books what it
    is handed back."""

    def update_quote(self, quote: Quote) -> list[ExecReport | SwapReport]:
        """Take a new quote; return the deals it made, in the order they happened: the swaps of
        the rollovers it passed, then the resting limits it filled and the sl/tp closes."""
        ...

    def restore(
        self,
        positions: list[BrokerPosition],
        working: Sequence[tuple[str, OrderIntent]] = (),
        balance: float | None = None,
        swap_through: Mapping[str, dt.datetime] | None = None,
        ids_after: int = 0,
    ) -> None:
        """Rebuild the account from the ledger's open positions, working orders and balance;
        new broker ids start above ``ids_after``."""
        ...


class SwapCharging(Protocol):
    """What a broker that ``charges_swap`` offers on top of :class:`Broker`: an open position's
    swap so far is :attr:`BrokerPosition.swap`; these give the rest, in the broker's currency."""

    def closed_swap(self, broker_position_id: str) -> tuple[float, float]:
        """The swap the position's closing deals realised, and the lots those deals leave open
        (from the same read of the history, so the two agree)."""
        ...

    def swap_rate(self) -> float | None:
        """The rate converting the broker's currency to the account currency (1.0 when they are
        the same); None while it cannot be priced."""
        ...
