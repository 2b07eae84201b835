"""Booking the overnight swap a broker charges itself (MT5) into the ledger, exactly once.

The terminal reports a running total per position: swap accrued on the open position plus what
its closing deals realised, in the deposit currency. A pass compares that total with the sum of
the broker-currency swap the ledger has booked for the position and books the difference, dated
when it was seen and converted to the account currency at that moment; with the position's row
locked for the comparison, so that a re-run, a concurrent pass or a restart books nothing twice.
Like the paper broker's swap it goes into the day's realised P&L (the daily-loss check, /account).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from typing import cast

import sqlalchemy as sa

from ml.costs.rollover import rollovers_between
from realtime.brokers.base import Broker, BrokerPosition, SwapCharging
from realtime.ledger import tables as t
from realtime.ledger import totals
from realtime.ledger.rows import PositionRow
from realtime.ledger.store import Ledger

log = logging.getLogger(__name__)
Diff = dict[str, object]
# Below this (in the deposit currency) a difference is float noise of summing shares of a swap.
EPSILON = 1e-6


def broker_total(swaps: SwapCharging, row: PositionRow, held: BrokerPosition | None) -> float | None:
    """The broker's swap so far for ledger position ``row`` (``held``: the broker's open
    position, read after ``row``); None while the two disagree on what is open (the settling of
    closes catches up first)."""
    bpid = row.broker_position_id or ""
    if row.status == "open":
        if held is None or abs(held.volume - row.volume) > 1e-9:
            return None
        if row.realized_pnl is None:  # never reduced: no closing deals, no history read
            return held.swap
        closed, left = swaps.closed_swap(bpid)
        # A close made after ``held`` was read is in the history already: its deal realises the
        # swap ``held`` still counts as open, so adding the two would count it twice. The
        # history's open lots tell; the next pass sees both sides settled.
        return held.swap + closed if abs(left - held.volume) <= 1e-9 else None
    return None if held is not None else swaps.closed_swap(bpid)[0]


def book_delta(ledger: Ledger, row: PositionRow, total: float, rate: float, now: dt.datetime) -> float:
    """Book ``total`` (broker currency) less what is booked for ``row`` already; the amount
    booked in the broker's currency (0.0 when nothing was due)."""
    p = t.positions.c
    with ledger.unit_of_work() as c:
        c.execute(sa.select(p.id).where(p.id == row.id).with_for_update())  # serialise passes
        booked, last = totals.broker_swap_booked(c, row.id)
        delta = total - booked
        if abs(delta) < EPSILON:
            return 0.0
        since = last or row.opened_at
        nights = sum(w for _, w in rollovers_between(int(since.timestamp()), int(now.timestamp())))
        if not totals.add_swap(c, row.id, now, nights, delta * rate, broker_amount=delta):
            return 0.0  # a pass at the very same instant booked it
    return delta


def book_broker_swaps(
    ledger: Ledger,
    broker: Broker,
    rows: Iterable[PositionRow],
    held: Mapping[str, BrokerPosition],
    now: dt.datetime | None = None,
) -> list[Diff]:
    """Book the swap the broker charged on ``rows`` (ledger positions read before this pass
    settled closes; re-read where it may have changed them) since the last booking; ``held``:
    the broker's open positions by id, read after ``rows``."""
    if not broker.capabilities.charges_swap:
        return []
    swaps = cast(SwapCharging, broker)
    rows = list(rows)
    with ledger.engine.connect() as c:
        booked = totals.broker_swaps_booked(c, [r.id for r in rows])
    rate: float | None = None
    diffs: list[Diff] = []
    for row in rows:
        bp = held.get(row.broker_position_id or "")
        if row.status != "open" or bp is None or abs(bp.volume - row.volume) > 1e-9:
            fresh = ledger.get_position(row.id)  # the settling of closes may have changed it
            if fresh is None:
                continue
            row = fresh
        total = broker_total(swaps, row, bp) if row.broker_position_id else None
        if total is None or abs(total - booked.get(row.id, 0.0)) < EPSILON:
            continue
        rate = swaps.swap_rate() if rate is None else rate  # one account read per pass at most
        if rate is None:
            log.warning("swap not booked: no quote converts the broker's currency yet")
            return diffs
        delta = book_delta(ledger, row, total, rate, now or dt.datetime.now(dt.UTC))
        if delta:
            diffs.append({"action": "swap_booked", "position_id": row.id, "broker_amount": delta,
                          "amount": delta * rate})  # fmt: skip
    return diffs
