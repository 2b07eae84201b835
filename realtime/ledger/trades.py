"""Fills and their effect on positions, applied in one transaction per fill."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ml.costs import gross_pnl
from realtime.ledger import pg_fill, pretrade, totals
from realtime.ledger import tables as t
from realtime.ledger.core import LedgerCore, new_id
from realtime.ledger.rows import closing_side

if TYPE_CHECKING:
    from realtime.ledger.rows import OrderRow


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
        for k in (
            "order_id",
            "symbol",
            "side",
            "volume",
            "price",
            "commission",
            "broker_deal_id",
            "ts",
            "realized_pnl",
        )
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

# A position with the user whose order opened it (None: opened by no order), whose per-user
# totals a close reduces.
_OPENER = sa.select(t.orders.c.user_id).where(t.orders.c.id == t.positions.c.order_id)
_POSITION_AND_OPENER = sa.select(t.positions, _OPENER.scalar_subquery().label("opener")).where(
    t.positions.c.id == sa.bindparam("pid")
)

SYSTEM_USER_ID = 0  # the user id of orders the service makes itself (auto-trader, kill switch, broker)


class Trades:
    """Fill bookkeeping of a :class:`Ledger`."""

    def __init__(self, ledger: LedgerCore):
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
        fx: float = 1.0,
    ) -> int | None:
        """Mark ``order`` filled, store the fill, open or reduce a position; return the position id.
        ``commission`` is in the account currency; ``fx`` converts the P&L of a closing fill from
        the symbol's quote currency to it (the rate at the deal).

        Idempotent: a second call for an already-filled order changes nothing and returns None,
        so reconciliation after a restart can replay fills safely. On PostgreSQL an opening
        fill is one statement (:mod:`.pg_fill`); a closing one reads the position first.
        """
        # Prebuilt statements with bind parameters: this is the hot path of every fill.
        slot = totals.slot_of(order.id)
        fill = {
            "symbol": order.symbol,
            "side": order.side,
            "volume": volume,
            "price": price,
            "commission": commission,
            "broker_deal_id": broker_deal_id,
            "ts": ts,
        }
        new_position = {
            "broker_position_id": broker_position_id or broker_order_id or order.broker_order_id,
            "sl": order.sl,
            "tp": order.tp,
        }
        if order.position_id is None and self.engine.dialect.name == "postgresql":
            with self._ledger.statement() as c:
                return pg_fill.opening_fill(
                    c,
                    **fill,
                    **new_position,
                    oid=order.id,
                    broker_order_id=broker_order_id or order.broker_order_id,
                    day=ts.astimezone(dt.UTC).date(),
                    slot=slot,
                    user_id=order.user_id,
                    net_lots=volume if order.side == "buy" else -volume,
                )
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
            realized = None
            if order.position_id is not None:
                realized, symbol, side, closed, opener = self._reduce(
                    c, order.position_id, price, volume, ts, fx
                )
            c.execute(_INSERT_FILL, fill | {"order_id": order.id, "realized_pnl": realized})
            totals.add_day(c, ts, realized or 0.0, commission, slot)
            if order.position_id is not None:
                totals.add_exposure(c, symbol, side, -closed, slot, opener)
                return order.position_id
            totals.add_exposure(c, order.symbol, order.side, volume, slot, order.user_id)
            return new_id(
                c.execute(
                    _INSERT_POSITION,
                    new_position | {
                        "symbol": order.symbol,
                        "side": order.side,
                        "volume": volume,
                        "open_price": price,
                        "order_id": order.id,
                        "status": "open",
                        "opened_at": ts,
                    },
                )
            )

    def _reduce(
        self, c: sa.Connection, position_id: int, price: float, volume: float, ts: dt.datetime, fx: float
    ) -> tuple[float, str, str, float, int | None]:
        """Reduce or close a position; return (realised P&L in the account currency, symbol, side,
        lots closed, the user whose order opened it)."""
        pos = c.execute(_POSITION_AND_OPENER, {"pid": position_id}).mappings().one()
        closed = min(volume, pos["volume"])
        pnl = gross_pnl(pos["symbol"], pos["side"], volume, pos["open_price"], price, fx)
        left = round(pos["volume"] - volume, 8)
        values: dict[str, object] = {"realized_pnl": (pos["realized_pnl"] or 0.0) + pnl, "close_price": price}
        if left <= 0:
            values.update(status="closed", closed_at=ts, volume=0.0)
        else:
            values.update(volume=left)
        c.execute(t.positions.update().where(t.positions.c.id == position_id).values(**values))
        return pnl, pos["symbol"], pos["side"], closed, pos["opener"]

    def record_broker_close(
        self,
        broker_position_id: str,
        price: float,
        volume: float,
        commission: float,
        ts: dt.datetime,
        broker_deal_id: str,
        broker_order_id: str | None,
        reason: str,
        fx: float = 1.0,
    ) -> OrderRow | None:
        """Book a deal the broker made on its own that closed (part of) an open position: a
        stop-loss, take-profit, stop-out or a close by hand at the terminal.

        It becomes a system order (client id ``broker-deal-<deal>``) filled at the deal's price,
        so realised P&L, commission and exposure are booked like any closing fill, with an audit
        entry, all in one transaction. Idempotent by deal id; return the (filled) closing order, or
        None when the deal is already booked or no open position has that broker id.
        """
        cid = f"broker-deal-{broker_deal_id}"
        ledger = self._ledger
        with ledger.unit_of_work() as c:
            if ledger.order_by_client_id(SYSTEM_USER_ID, cid) is not None:
                return None
            pos = (
                c.execute(
                    t.positions.select().where(
                        t.positions.c.broker_position_id == broker_position_id, t.positions.c.status == "open"
                    )
                )
                .mappings()
                .first()
            )
            if pos is None:
                return None
            order, _ = ledger.create_order(
                SYSTEM_USER_ID,
                cid,
                symbol=pos["symbol"],
                side=closing_side(pos["side"]),
                type="market",
                volume=volume,
                position_id=pos["id"],
                message=f"closed at the broker ({reason})",
            )
            self.record_fill(
                order, price, volume, commission, ts, broker_deal_id, broker_position_id, broker_order_id, fx
            )
            detail = {
                "position_id": pos["id"],
                "order_id": order.id,
                "reason": reason,
                "price": price,
                "volume": volume,
                "broker_deal_id": broker_deal_id,
            }
            ledger.audit("broker", "position_closed_at_broker", detail, conn=c)
            return replace(order, status="filled", fill_price=price, broker_order_id=broker_order_id)

    def close_missing(self, position_id: int, reason: str) -> None:
        """Close a position the broker no longer has (reconciliation), with an audit entry."""
        with self._ledger.begin() as c:
            pos = c.execute(_POSITION_AND_OPENER, {"pid": position_id}).mappings().one()
            if pos["status"] != "open":
                return
            c.execute(
                t.positions.update()
                .where(t.positions.c.id == position_id)
                .values(status="closed", closed_at=dt.datetime.now(dt.UTC))
            )
            totals.add_exposure(
                c, pos["symbol"], pos["side"], -pos["volume"], totals.slot_of(position_id), pos["opener"]
            )
            self._ledger.audit(
                "reconcile", "position_closed_missing", {"position_id": position_id, "reason": reason}, conn=c
            )

    def daily_pnl(self, day: dt.date) -> float:
        """P&L realised by fills on ``day`` (UTC) minus the commissions paid that day."""
        with self.engine.connect() as c:
            return pretrade.snapshot(c, "", day)[2]
