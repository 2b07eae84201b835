"""An opening fill on PostgreSQL as one statement: the order marked filled, the fill, the new
position and the running totals, in data-modifying CTEs.

In autocommit that is one round trip and one commit, and the rows of the running totals it
updates stay locked only from the statement's end to its commit, instead of across the five
further round trips of a transaction. Every write is gated on the order's conditional UPDATE
(each row is selected ``FROM filled``): an order filled before writes nothing and the statement
returns no row, as :meth:`~realtime.ledger.trades.Trades.record_fill` promises.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from realtime.ledger import tables as t
from realtime.ledger.prepared import Prepared

_o, _f, _p = t.orders.c, t.fills.c, t.positions.c
# Constants as SQL text, not anonymous parameters: SQLAlchemy's statement cache did not carry
# the values of those inside the CTEs that ``add_cte`` attaches (a missing-value error).
_FILLED: sa.ColumnClause[str] = sa.literal_column("'filled'")
_OPEN: sa.ColumnClause[str] = sa.literal_column("'open'")
_ZERO: sa.ColumnClause[float] = sa.literal_column("0.0")


def _param(name: str, col: sa.Column[Any]) -> sa.BindParameter[Any]:
    """Parameter ``name`` typed as ``col``: the UTC datetime conversion applies, and PostgreSQL
    is told each value's type (a SELECT list has no target column to infer it from). Named
    ``v_...``: a parameter named as a column of af_orders would become a value SQLAlchemy SETs
    in the order's UPDATE."""
    return sa.bindparam("v_" + name, type_=col.type)


def _insert(table: sa.Table, filled: sa.CTE, values: dict[str, Any]) -> Any:
    """INSERT INTO ``table`` one row of ``values`` if the order was filled (none otherwise)."""
    return postgresql.insert(table).from_select(list(values), sa.select(*values.values()).select_from(filled))


def _add(table: sa.Table, filled: sa.CTE, values: dict[str, Any]) -> Any:
    """:func:`_insert`, or add the values to the row with the same key (a running total)."""
    ins = _insert(table, filled, values)
    keys = list(table.primary_key.columns)
    adds = {k: table.c[k] + ins.excluded[k] for k in values if table.c[k] not in keys}
    return ins.on_conflict_do_update(index_elements=keys, set_=adds)


def _statement() -> Any:
    filled = (
        t.orders.update()
        .where(_o.id == _param("oid", _o.id), _o.status != _FILLED)
        .values(status=_FILLED, fill_price=_param("price", _f.price), updated_at=_param("ts", _f.ts),
                broker_order_id=_param("broker_order_id", _o.broker_order_id))
        .returning(_o.id)
        .cte("filled")
    )
    deal = {c.name: _param(c.name, c) for c in (_f.symbol, _f.side, _f.volume, _f.price, _f.commission)}
    fill = _insert(t.fills, filled, {"order_id": filled.c.id, **deal,
                                      "broker_deal_id": _param("broker_deal_id", _f.broker_deal_id),
                                      "ts": _param("ts", _f.ts)})
    slot = _param("slot", t.exposure.c.slot)
    day = _add(t.daily_pnl, filled, {"day": _param("day", t.daily_pnl.c.day), "slot": slot,
                                     "realized": _ZERO, "commission": deal["commission"]})
    lots = {"symbol": deal["symbol"], "slot": slot, "net_lots": _param("net_lots", t.exposure.c.net_lots),
            "gross_lots": deal["volume"]}
    user_lots = {"user_id": _param("user_id", t.user_exposure.c.user_id), **lots}
    position = _insert(t.positions, filled, {
        "symbol": deal["symbol"], "side": deal["side"], "volume": deal["volume"], "open_price": deal["price"],
        "sl": _param("sl", _p.sl), "tp": _param("tp", _p.tp),
        "broker_position_id": _param("broker_position_id", _p.broker_position_id),
        "order_id": filled.c.id, "status": _OPEN, "opened_at": _param("ts", _p.opened_at),
    })
    return position.returning(_p.id).add_cte(
        fill.cte("fill"), day.cte("day"), _add(t.exposure, filled, lots).cte("symbol_lots"),
        _add(t.user_exposure, filled, user_lots).cte("user_lots"),
    )


OPENING_FILL = _statement()
_PREPARED = Prepared("af_opening_fill", OPENING_FILL)


def opening_fill(c: sa.Connection, **values: Any) -> int | None:
    """Run :data:`OPENING_FILL` (prepared) with ``values`` (oid, price, ts, broker_order_id, symbol, side,
    volume, commission, broker_deal_id, day, slot, net_lots, user_id, sl, tp,
    broker_position_id); the new position's id, or None when the order was filled before."""
    rows = _PREPARED.run(c, {"v_" + k: v for k, v in values.items()})
    return int(rows[0][0]) if rows else None
