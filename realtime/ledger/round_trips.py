"""Closed round trips of one order-id prefix: what a model's paper period is judged on.

The auto-trader names its opening orders ``auto-v<model version>-...``, so the trades a served
version made are the closed positions whose opening order carries its prefix. Each round trip
is booked net: the P&L its closing fills realised, less the commission of the opening fill and
of every closing fill, plus the swap charged while it was open (all in the account currency).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from realtime.ledger import tables as t


@dataclass(frozen=True)
class RoundTrip:
    """One closed position, net of its costs."""

    position_id: int
    client_order_id: str
    symbol: str
    side: str
    volume: float
    opened_at: dt.datetime
    closed_at: dt.datetime
    gross_pnl: float
    commission: float
    swap: float

    @property
    def net_pnl(self) -> float:
        """Gross P&L less commission, plus swap (a charge is negative)."""
        return self.gross_pnl - self.commission + self.swap


def _like_prefix(prefix: str) -> str:
    """``prefix`` as a LIKE pattern that matches it literally."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def round_trips(c: sa.Connection, prefix: str, since: dt.datetime) -> list[RoundTrip]:
    """The positions opened at or after ``since`` by an order whose client id starts with
    ``prefix``, closed by now, oldest first."""
    p, o, f = t.positions.c, t.orders.c, t.fills.c
    closing = t.orders.alias("closing")

    def closing_sum(col: sa.ColumnElement[float]) -> sa.ScalarSelect[float]:
        # the fills of every order that closed (part of) this position
        return (
            sa.select(sa.func.coalesce(sa.func.sum(col), 0.0))
            .select_from(t.fills.join(closing, closing.c.id == f.order_id))
            .where(closing.c.position_id == p.id)
            .scalar_subquery()
        )

    opening_commission = (
        sa.select(sa.func.coalesce(sa.func.sum(f.commission), 0.0))
        .where(f.order_id == p.order_id)
        .scalar_subquery()
    )
    swap = (
        sa.select(sa.func.coalesce(sa.func.sum(t.swaps.c.amount), 0.0))
        .where(t.swaps.c.position_id == p.id)
        .scalar_subquery()
    )
    q = (
        sa.select(
            p.id,
            o.client_order_id,
            p.symbol,
            p.side,
            p.volume,
            p.opened_at,
            p.closed_at,
            closing_sum(f.realized_pnl).label("gross"),
            closing_sum(f.commission).label("close_fee"),
            opening_commission.label("open_fee"),
            swap.label("swap"),
        )
        .select_from(t.positions.join(t.orders, o.id == p.order_id))
        .where(
            o.client_order_id.like(_like_prefix(prefix), escape="\\"),
            p.status == "closed",
            p.opened_at >= since,
        )
        .order_by(p.id)
    )
    return [
        RoundTrip(
            m["id"], m["client_order_id"], m["symbol"], m["side"], float(m["volume"]), m["opened_at"],
            m["closed_at"], float(m["gross"]), float(m["open_fee"]) + float(m["close_fee"]), float(m["swap"]),
        )
        for m in c.execute(q).mappings()
    ]
