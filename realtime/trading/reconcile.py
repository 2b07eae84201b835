"""Reconciliation: the ledger's open orders and positions against the broker's.

Run once on start-up (:func:`reconcile`) and periodically while running (:mod:`realtime.trading.sync`).
Every difference is resolved conservatively and written to the audit log:
an order the broker filled but the ledger never booked (a crash between send and fill, a resting
limit filled at the broker, a send whose answer was lost) is booked; an ``unknown`` order found
working at the broker becomes ``placed``; an order the broker never saw is marked failed; a working
order gone from the broker is marked cancelled; a position the broker closed (sl, tp, stop-out, a
close at the terminal) is booked as a closing fill at the broker's deal price, and one the broker
no longer holds without any closing deal is closed; a broker position the ledger does not know is
reported (never adopted silently).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from realtime.brokers.base import Broker, BrokerPosition, ExecReport
from realtime.errors import BrokerError
from realtime.ledger.rows import OrderRow, PositionRow
from realtime.ledger.store import OPEN_ORDER_STATES, Ledger
from realtime.trading.broker_swap import book_broker_swaps
from realtime.trading.fills import book_broker_close, book_fill

log = logging.getLogger(__name__)
Diff = dict[str, object]
# At start-up, positions closed this recently may have swap the last run did not book yet.
SWAP_LOOKBACK = dt.timedelta(days=3)


@dataclass
class Booker:
    """How a pass books what it finds: straight into the ledger (start-up) or through the order
    service (while running, so fills are announced and counted). Each returns True when new."""

    fill: Callable[[OrderRow, ExecReport], bool]
    close: Callable[[ExecReport], bool]
    status: Callable[[str], None] = lambda status: None  # an order reached this state (metrics)

    @classmethod
    def ledger_only(cls, ledger: Ledger) -> Booker:
        """Book with the ledger alone (no events, no metrics)."""
        return cls(
            lambda order, report: book_fill(ledger, order, report) is not None,
            lambda report: book_broker_close(ledger, report) is not None,
        )


def settle_order(
    ledger: Ledger, broker: Broker, order: OrderRow, working: set[str], book: Booker, decide: bool
) -> Diff | None:
    """Settle one open order against the broker; ``working``: broker ids read *after* ``order``.

    ``decide``: whether an order without any trace at the broker is failed now. At start-up
    nothing is in flight, so it is; while running, the sync passes no pending/sent orders (they
    belong to the order path) and decides an ``unknown`` one only after a grace period.
    """
    if order.status == "placed" and order.broker_order_id in working:
        return None  # still working: nothing to look up (the common case, every sync period)
    if order.status == "unknown":
        ticket = broker.working_order(order.id)
        if ticket is not None:  # a limit order that rests at the broker though the answer was lost
            msg = "found working at the broker (reconcile)"
            if ledger.set_order_status(order.id, "placed", msg, ticket, only_from=("unknown",)):
                book.status("placed")
                return {"action": "order_placed_found", "order_id": order.id, "broker_order_id": ticket}
            return None
    report = broker.fills_for(order.id)
    if report is not None and report.status == "filled" and report.price is not None:
        if book.fill(order, report):
            return {"action": "order_fill_booked", "order_id": order.id, "price": report.price}
        return None
    if order.status == "placed":
        msg = "no longer working at the broker (reconcile)"
        if ledger.set_order_status(order.id, "cancelled", msg, only_from=("placed",)):
            book.status("cancelled")
            return {"action": "order_cancelled", "order_id": order.id}
        return None
    if not decide:
        return None
    msg = f"{order.status}; the broker has no execution for it (reconcile)"
    if ledger.set_order_status(order.id, "failed", msg, only_from=(order.status,)):
        book.status("failed")
        return {"action": "order_failed", "order_id": order.id, "was": order.status}
    return None


def settle_position(
    ledger: Ledger, broker: Broker, pos: PositionRow, held: BrokerPosition | None, book: Booker
) -> list[Diff]:
    """Book the broker's closing deals of a ledger position the broker holds less of, or not at all
    (``held``: the broker's view, read *after* ``pos``); close it if it vanished without a deal."""
    if held is not None and abs(held.volume - pos.volume) <= 1e-9:
        return []
    diffs: list[Diff] = []
    for report in broker.position_closes(pos.broker_position_id or ""):
        order = ledger.get_order(report.ref) if report.ref is not None else None
        if order is not None:  # one of our closing orders, its answer not booked (yet)
            if book.fill(order, report):
                diffs.append({"action": "order_fill_booked", "order_id": order.id, "price": report.price})
        elif report.ref is None and book.close(report):  # audits itself
            diffs.append(
                {"action": "position_closed_at_broker", "position_id": pos.id, "reason": report.reason}
            )
    now = ledger.get_position(pos.id)
    if held is None and now is not None and now.status == "open":
        ledger.trades.close_missing(pos.id, "the broker no longer holds it")  # audits itself
        diffs.append({"action": "position_closed_missing", "position_id": pos.id})
    elif held is not None and now is not None and abs(held.volume - now.volume) > 1e-9:
        diffs.append(
            {
                "action": "position_volume_mismatch",
                "position_id": pos.id,
                "ledger": now.volume,
                "broker": held.volume,
            }
        )
    return diffs


SELF_AUDITED = {"position_closed_missing", "position_closed_at_broker"}


def reconcile(ledger: Ledger, broker: Broker, book: Booker | None = None) -> list[Diff]:
    """Bring the ledger in line with ``broker`` at start-up; return the differences found."""
    book = book or Booker.ledger_only(ledger)
    diffs: list[Diff] = []
    orders = ledger.list_orders(status=OPEN_ORDER_STATES, limit=100_000)
    try:
        working = set(broker.open_orders())
        for order in orders:
            d = settle_order(ledger, broker, order, working, book, decide=True)
            if d is not None:
                diffs.append(d)
        positions = ledger.positions()
        held = {p.broker_position_id: p for p in broker.positions()}
        swap_held = dict(held)
        for pos in positions:
            diffs += settle_position(ledger, broker, pos, held.pop(pos.broker_position_id or "", None), book)
        if broker.capabilities.charges_swap:
            diffs += book_broker_swaps(ledger, broker, [*positions, *recently_closed(ledger)], swap_held)
    except BrokerError as exc:
        diffs.append({"action": "reconcile_skipped", "reason": str(exc)})
        audit(ledger, "reconcile", diffs)
        log.error("reconciliation skipped, broker unavailable: %s", exc)
        return diffs
    for bp in held.values():
        diffs.append(
            {
                "action": "unknown_broker_position",
                "broker_position_id": bp.broker_position_id,
                "symbol": bp.symbol,
                "side": bp.side,
                "volume": bp.volume,
            }
        )
    audit(ledger, "reconcile", diffs)
    return diffs


def recently_closed(ledger: Ledger) -> list[PositionRow]:
    """Positions closed within :data:`SWAP_LOOKBACK`."""
    since = dt.datetime.now(dt.UTC) - SWAP_LOOKBACK
    return [p for p in ledger.positions(status="closed") if p.closed_at is not None and p.closed_at >= since]


def audit(ledger: Ledger, actor: str, diffs: list[Diff]) -> None:
    """Write each difference that did not audit itself; log a summary."""
    for d in diffs:
        if d["action"] not in SELF_AUDITED:
            ledger.audit(actor, str(d["action"]), d)
    if diffs:
        log.warning("%s found %d differences with the broker", actor, len(diffs))


def older_than(order: OrderRow, seconds: float) -> bool:
    """True when ``order`` was last updated more than ``seconds`` ago."""
    return (dt.datetime.now(dt.UTC) - order.updated_at).total_seconds() > seconds
