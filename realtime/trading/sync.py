"""The periodic broker sync: what the broker does on its own reaches the ledger while running.

A remote broker (MT5) fills resting limit orders, closes positions at their sl or tp, stops out
an account, or lets a person close a position at the terminal; and an order whose send got no
answer is ``unknown`` until its deal is found. Start-up reconciliation catches all of that only at
the next restart. :class:`BrokerSync` runs the same settling rules (:mod:`realtime.trading.reconcile`)
every few seconds, through the order service so that fills are announced and counted, and writes
each difference to the audit log with the actor ``sync``.

What it must not touch is what the order path has in flight: ``pending``/``sent`` orders are
left alone, the ledger is always read before the broker (so a broker snapshot is never older
than the ledger rows it is compared with), and every booking is idempotent (an order is filled
once; a broker deal is booked once), so the sync and the order path can book the same fill.
"""

from __future__ import annotations

import asyncio
import logging

from realtime.errors import BrokerError
from realtime.trading.broker_swap import book_broker_swaps
from realtime.trading.orders import OrderService
from realtime.trading.reconcile import Booker, Diff, audit, older_than, settle_order, settle_position

log = logging.getLogger(__name__)
# How long an order whose send got no answer may stay "unknown" before, with no deal and no working
# order at the broker, it is failed: a timed-out request can still execute on the server meanwhile.
UNKNOWN_GRACE_S = 60.0


class BrokerSync:
    """One sync pass per :meth:`run_once`; keeps which volume mismatches it already reported."""

    def __init__(self, orders: OrderService, unknown_grace_s: float = UNKNOWN_GRACE_S):
        self.orders, self.ledger, self.broker = orders, orders.ledger, orders.broker
        self.grace_s = unknown_grace_s
        self.book = Booker(
            lambda order, report: orders.apply_fill(report, order),
            orders.apply_fill,
            orders.observe_status,
        )
        self._reported: set[tuple[int, float]] = set()
        # Ledger positions open at the last pass: one closed since still has its swap to settle.
        self._open: set[int] = {p.id for p in self.ledger.positions()}

    def run_once(self) -> list[Diff]:
        """Settle working and unknown orders, then positions, then the swap the broker charged;
        return (and audit) the differences."""
        ledger, broker = self.ledger, self.broker
        diffs: list[Diff] = []
        try:
            orders = ledger.list_orders(status=("placed", "unknown"), limit=100_000)
            working = set(broker.open_orders()) if orders else set()
            for order in orders:
                decide = order.status == "unknown" and older_than(order, self.grace_s)
                d = settle_order(ledger, broker, order, working, self.book, decide=decide)
                if d is not None:
                    diffs.append(d)
            positions = ledger.positions()
            held = {p.broker_position_id: p for p in broker.positions()}
            for pos in positions:
                bp = held.get(pos.broker_position_id or "")
                diffs += settle_position(ledger, broker, pos, bp, self.book)
            # Positions closed by the order path since the last pass: their final swap too.
            gone = [ledger.get_position(i) for i in self._open - {p.id for p in positions}]
            diffs += book_broker_swaps(ledger, broker, [*positions, *filter(None, gone)], held)
            self._open = {p.id for p in positions}
        except BrokerError as exc:  # the broker is down: /ready says so; try again next period
            log.warning("broker sync skipped: %s", exc)
        diffs = [d for d in diffs if self._new(d)]
        audit(ledger, "sync", diffs)
        return diffs

    def _new(self, d: Diff) -> bool:
        # A volume mismatch with no deal to explain it persists: report it once, not every period.
        if d["action"] != "position_volume_mismatch":
            return True
        key = (int(str(d["position_id"])), float(str(d["broker"])))
        if key in self._reported:
            return False
        self._reported.add(key)
        return True


async def run_periodically(sync: BrokerSync, period_s: float) -> None:
    """Run ``sync`` every ``period_s`` seconds in a worker thread until cancelled."""
    while True:
        await asyncio.sleep(period_s)
        try:
            await asyncio.to_thread(sync.run_once)
        except Exception:  # a ledger hiccup must not end the sync for the rest of the process
            log.exception("broker sync failed")
