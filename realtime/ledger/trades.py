"""Fills and their effect on positions, applied in one transaction per fill."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import sqlalchemy as sa

from marketdata.instruments import get_instrument
from realtime.ledger import tables as t

if TYPE_CHECKING:
    from realtime.ledger.store import Ledger, OrderRow


_FILL_ORDER = (
    t.orders.update()
    .where(t.orders.c.id == sa.bindparam("oid"), t.orders.c.status != "filled")
    .values(
        status="filled",
        fill_price=sa.bindparam("fill_price"),
        updated_at=sa.bindparam("updated_at"),
        broker_order_id=sa.bindparam("broker_order_id"),
    )
)
_INSERT_FILL = t.fills.insert().values(
    {
        k: sa.bindparam(k)
        for k in ("order_id", "symbol", "side", "volume", "price", "commission", "broker_deal_id", "ts")
    }
)
_INSERT_POSITION = t.positions.insert().values(
    {
        k: sa.bindparam(k)
        for k in (
            "symbol",
            "side",
            "volume",
            "open_price",
            "sl",
            "tp",
            "broker_position_id",
            "order_id",
            "status",
            "opened_at",
        )
    }
)
_DAY_PNL = sa.select(
    sa.select(sa.func.coalesce(sa.func.sum(t.positions.c.realized_pnl), 0.0))
    .where(t.positions.c.closed_at >= sa.bindparam("start"), t.positions.c.closed_at < sa.bindparam("end"))
    .scalar_subquery(),
    sa.select(sa.func.coalesce(sa.func.sum(t.fills.c.commission), 0.0))
    .where(t.fills.c.ts >= sa.bindparam("start"), t.fills.c.ts < sa.bindparam("end"))
    .scalar_subquery(),
)


def gross_pnl(symbol: str, side: str, volume: float, open_price: float, close_price: float) -> float:
    """Quote-currency P&L of ``volume`` lots opened at ``open_price`` and closed at ``close_price``."""
    sign = 1.0 if side == "buy" else -1.0
    return sign * (close_price - open_price) * volume * get_instrument(symbol).contract_size


class Trades:
    """Fill bookkeeping of a :class:`Ledger`."""

    def __init__(self, ledger: Ledger):
        self.engine = ledger.engine
        self._ledger = ledger

    def record_fill(
        self,
        order: OrderRow,
        price: float,
        volume: float,
        commission: float,
        ts: dt.datetime,
        broker_deal_id: str | None = None,
        broker_position_id: str | None = None,
        broker_order_id: str | None = None,
    ) -> int | None:
        """Mark ``order`` filled, store the fill, open or reduce a position; return the position id.

        Idempotent: a second call for an already-filled order changes nothing and returns None,
        so reconciliation after a restart can replay fills safely.
        """
        # Prebuilt statements with bind parameters: this is the hot path of every fill.
        with self._ledger.begin() as c:
            done = c.execute(
                _FILL_ORDER,
                {
                    "oid": order.id,
                    "fill_price": price,
                    "updated_at": ts,
                    "broker_order_id": broker_order_id or order.broker_order_id,
                },
            ).rowcount
            if not done:
                return None
            c.execute(
                _INSERT_FILL,
                {
                    "order_id": order.id,
                    "symbol": order.symbol,
                    "side": order.side,
                    "volume": volume,
                    "price": price,
                    "commission": commission,
                    "broker_deal_id": broker_deal_id,
                    "ts": ts,
                },
            )
            if order.position_id is None:
                return c.execute(
                    _INSERT_POSITION,
                    {
                        "symbol": order.symbol,
                        "side": order.side,
                        "volume": volume,
                        "open_price": price,
                        "sl": order.sl,
                        "tp": order.tp,
                        "broker_position_id": broker_position_id or broker_order_id or order.broker_order_id,
                        "order_id": order.id,
                        "status": "open",
                        "opened_at": ts,
                    },
                ).inserted_primary_key[0]
            self._reduce(c, order.position_id, price, volume, ts)
            return order.position_id

    def _reduce(
        self, c: sa.Connection, position_id: int, price: float, volume: float, ts: dt.datetime
    ) -> None:
        pos = c.execute(t.positions.select().where(t.positions.c.id == position_id)).mappings().one()
        pnl = gross_pnl(pos["symbol"], pos["side"], volume, pos["open_price"], price)
        left = round(pos["volume"] - volume, 8)
        values: dict[str, object] = {"realized_pnl": (pos["realized_pnl"] or 0.0) + pnl, "close_price": price}
        if left <= 0:
            values.update(status="closed", closed_at=ts, volume=0.0)
        else:
            values.update(volume=left)
        c.execute(t.positions.update().where(t.positions.c.id == position_id).values(**values))

    def close_missing(self, position_id: int, reason: str) -> None:
        """Close a position the broker no longer has (reconciliation), with an audit entry."""
        with self._ledger.begin() as c:
            c.execute(
                t.positions.update()
                .where(t.positions.c.id == position_id)
                .values(status="closed", closed_at=dt.datetime.now(dt.UTC))
            )
            self._ledger.audit(
                "reconcile", "position_closed_missing", {"position_id": position_id, "reason": reason}, conn=c
            )

    def daily_pnl(self, day: dt.date) -> float:
        """Realized P&L of positions closed on ``day`` (UTC) minus commissions paid that day."""
        start = dt.datetime.combine(day, dt.time(), dt.UTC)
        end = start + dt.timedelta(days=1)
        with self.engine.connect() as c:
            realized, fees = c.execute(_DAY_PNL, {"start": start, "end": end}).one()
        return float(realized) - float(fees)
