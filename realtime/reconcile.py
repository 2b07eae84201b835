"""Reconciliation on start-up: the ledger's open orders and positions against the broker's.

Every difference is resolved conservatively and written to the audit log:
an order the broker filled but the ledger never booked (a crash between send and fill) is booked;
an order the broker never saw is marked failed; a working order gone from the broker is marked
cancelled; a ledger position the broker no longer holds is closed; a broker position the ledger
does not know is reported (never adopted silently).
"""

from __future__ import annotations

import logging

from realtime.brokers.base import Broker
from realtime.errors import BrokerError
from realtime.ledger.store import OPEN_ORDER_STATES, Ledger
from realtime.orders import book_fill

log = logging.getLogger(__name__)


def reconcile(ledger: Ledger, broker: Broker) -> list[dict[str, object]]:
    """Bring the ledger in line with ``broker``; return the differences found."""
    diffs: list[dict[str, object]] = []
    try:
        working = set(broker.open_orders())
        held = {p.broker_position_id: p for p in broker.positions()}
    except BrokerError as exc:
        ledger.audit("reconcile", "reconcile_skipped", {"reason": str(exc)})
        log.error("reconciliation skipped, broker unavailable: %s", exc)
        return [{"action": "reconcile_skipped", "reason": str(exc)}]
    for order in ledger.list_orders(status=OPEN_ORDER_STATES, limit=100_000):
        report = broker.fills_for(order.id)
        if report is not None and report.status == "filled" and report.price is not None:
            book_fill(ledger, order, report)
            diffs.append({"action": "order_fill_booked", "order_id": order.id, "price": report.price})
        elif order.status == "placed" and order.broker_order_id in working:
            continue
        elif order.status == "placed":
            ledger.set_order_status(order.id, "cancelled", "no longer working at the broker (reconcile)")
            diffs.append({"action": "order_cancelled", "order_id": order.id})
        else:
            ledger.set_order_status(
                order.id,
                "failed",
                f"{order.status} at restart; the broker has no execution for it (reconcile)",
            )
            diffs.append({"action": "order_failed", "order_id": order.id, "was": order.status})
    for pos in ledger.positions():
        bp = held.pop(pos.broker_position_id or "", None)
        if bp is None:
            ledger.trades.close_missing(pos.id, "the broker no longer holds it")
            diffs.append({"action": "position_closed_missing", "position_id": pos.id})
        elif abs(bp.volume - pos.volume) > 1e-9:
            diffs.append(
                {
                    "action": "position_volume_mismatch",
                    "position_id": pos.id,
                    "ledger": pos.volume,
                    "broker": bp.volume,
                }
            )
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
    for d in diffs:
        if d["action"] != "position_closed_missing":  # close_missing audits itself
            ledger.audit("reconcile", str(d["action"]), d)
    if diffs:
        log.warning("reconciliation found %d differences", len(diffs))
    return diffs
