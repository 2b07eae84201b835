"""The broker interface and the plain records that cross it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

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


@dataclass(frozen=True)
class AccountState:
    """Balance, equity and used margin in the account currency."""

    balance: float
    equity: float
    margin: float
    currency: str = "USD"


@runtime_checkable
class Broker(Protocol):
    """What the order service needs from any broker. Methods raise BrokerError subclasses."""

    name: str

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
