"""Booking what a broker reports into the ledger, shared by the order path, the periodic sync and
start-up reconciliation, so that all three store the same ids and the same P&L."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from realtime.brokers.base import ExecReport, SwapReport
from realtime.ledger import tables as t
from realtime.ledger import totals
from realtime.ledger.rows import OrderRow
from realtime.ledger.store import Ledger

log = logging.getLogger(__name__)


def book_fill(ledger: Ledger, order: OrderRow, report: ExecReport) -> int | None:
    """Book the broker's fill ``report`` of ``order`` with every id the broker gave it (order,
    deal, position); idempotent, see :meth:`Trades.record_fill`. Reconciliation uses it too."""
    if report.price is None:
        raise ValueError(f"fill report without a price: {report}")
    return ledger.trades.record_fill(
        order,
        report.price,
        report.volume,
        report.commission,
        report.ts,
        report.broker_deal_id,
        report.broker_position_id,
        report.broker_order_id,
        fx=report.fx,
    )


def book_broker_close(ledger: Ledger, report: ExecReport) -> OrderRow | None:
    """Book a deal the broker made on its own (``report.ref`` is None: sl, tp, stop-out, a close at
    the terminal) against the open position it closed, as a filled system order; return that
    order, or None when the deal was booked before (idempotent by deal id)."""
    if report.price is None or report.broker_position_id is None or report.broker_deal_id is None:
        raise ValueError(f"broker close without price, position or deal: {report}")
    return ledger.trades.record_broker_close(
        report.broker_position_id,
        report.price,
        report.volume,
        report.commission,
        report.ts,
        report.broker_deal_id,
        report.broker_order_id,
        report.reason or "broker",
        fx=report.fx,
    )


def book_swap(ledger: Ledger, report: SwapReport) -> bool:
    """Book the overnight swap ``report`` against the ledger position with its broker id, on the
    rollover's UTC day; True when newly booked (idempotent per position and rollover)."""
    p = t.positions.c
    with ledger.unit_of_work() as c:
        pid = c.execute(
            sa.select(p.id).where(p.broker_position_id == report.broker_position_id).order_by(p.id.desc())
        ).scalar()
        if pid is None:
            log.error("swap for a position the ledger does not have: %s", report)
            return False
        return totals.add_swap(c, pid, report.rollover, report.weight, report.amount)
