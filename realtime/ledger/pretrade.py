"""What the pre-trade risk check reads: the running totals (see :mod:`.totals`) plus the working
opening orders, in one statement.

Working opening orders (resting limits, and orders still on their way) will add exposure when
they fill, so the check counts them as if filled: otherwise four 1.5-lot limits all pass a 2-lot
cap. ``oid`` is the order being checked, already written as pending. The working-orders index
keeps this a pass over the few orders in flight, whatever the number of filled ones; the totals
are primary-key range reads (a total is the sum of its slots).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from realtime.ledger import tables as t
from realtime.ledger.prepared import Prepared

# ((net lots of the symbol, gross lots, the day's P&L), (the user's net lots, gross lots))
PreTrade = tuple[tuple[float, float, float], tuple[float, float]]
_e, _d, _u, _o = t.exposure.c, t.daily_pnl.c, t.user_exposure.c, t.orders.c

# The states are written into the SQL as constants: a bound IN list is re-expanded on every
# execution, which doubled this hot query's cost.
_OPEN: list[sa.ColumnElement[str]] = [sa.literal_column(f"'{s}'") for s in t.OPEN_ORDER_STATES]
# So are the other constants (each bound one is processed on every execution, in Python).
_ZERO: sa.ColumnClause[float] = sa.literal_column("0.0")
_WORKING = sa.and_(_o.status.in_(_OPEN), _o.position_id.is_(None), _o.id != sa.bindparam("oid"))
_SIGNED = sa.case((_o.side == sa.literal_column("'buy'"), _o.volume), else_=-_o.volume)
_SYMBOL, _MINE = _o.symbol == sa.bindparam("symbol"), _o.user_id == sa.bindparam("uid")


def _total(expr: sa.ColumnElement[float], *where: sa.ColumnElement[bool]) -> sa.ColumnElement[float]:
    return sa.func.coalesce(sa.select(sa.func.sum(expr)).where(*where).scalar_subquery(), _ZERO)


def _share(expr: sa.ColumnElement[float], *where: sa.ColumnElement[bool]) -> sa.ColumnElement[float]:
    return sa.func.coalesce(sa.func.sum(sa.case((sa.and_(*where), expr), else_=_ZERO)), _ZERO)


# One pass over the working opening orders for the four sums the check adds to the totals.
_WORKING_LOTS = (
    sa.select(
        _share(_SIGNED, _SYMBOL).label("net"),
        sa.func.coalesce(sa.func.sum(_o.volume), _ZERO).label("gross"),
        _share(_SIGNED, _SYMBOL, _MINE).label("user_net"),
        _share(_o.volume, _MINE).label("user_gross"),
    )
    .where(_WORKING)
    .subquery("working")
)
_w = _WORKING_LOTS.c

# (net lots of the symbol, gross lots, the day's P&L net of commissions, the user's net lots of
# the symbol, the user's gross lots): the desk's lots and the user's, working orders included.
PRE_TRADE = sa.select(
    _total(_e.net_lots, _e.symbol == sa.bindparam("symbol")) + _w.net,
    _total(_e.gross_lots) + _w.gross,
    _total(_d.realized - _d.commission, _d.day == sa.bindparam("day")),
    _total(_u.net_lots, _u.user_id == sa.bindparam("uid"), _u.symbol == sa.bindparam("symbol")) + _w.user_net,
    _total(_u.gross_lots, _u.user_id == sa.bindparam("uid")) + _w.user_gross,
).select_from(_WORKING_LOTS)
_PREPARED = Prepared("af_pre_trade", PRE_TRADE)


def pre_trade(
    c: sa.Connection, symbol: str, day: dt.date, user_id: int, exclude_order_id: int | None = None
) -> PreTrade:
    """((net lots of ``symbol``, gross lots, P&L of ``day`` net of commissions), (net lots of
    ``symbol``, gross lots) of ``user_id``): open positions and working opening orders other
    than ``exclude_order_id``; a user's lots are those of the positions its orders opened."""
    params = {"symbol": symbol, "day": day, "uid": user_id,
              "oid": -1 if exclude_order_id is None else exclude_order_id}
    if c.dialect.name == "postgresql":
        return unpack(_PREPARED.run(c, params)[0])
    return unpack(tuple(c.execute(PRE_TRADE, params).one()))


def snapshot(
    c: sa.Connection, symbol: str, day: dt.date, exclude_order_id: int | None = None
) -> tuple[float, float, float]:
    """The desk's part of :func:`pre_trade`."""
    return pre_trade(c, symbol, day, -1, exclude_order_id)[0]


def user_snapshot(
    c: sa.Connection, user_id: int, symbol: str, exclude_order_id: int | None = None
) -> tuple[float, float]:
    """``user_id``'s part of :func:`pre_trade`."""
    return pre_trade(c, symbol, dt.date.min, user_id, exclude_order_id)[1]


def after_insert(name: str, insert: sa.Insert) -> Prepared:
    """``insert`` (an opening order's INSERT ... RETURNING id) and :data:`PRE_TRADE` as one
    prepared statement on PostgreSQL: one round trip and one commit for both, which returns the
    new id and then the five totals (see :func:`unpack`). The totals are read in the statement's
    snapshot, which does not hold the row it inserts: the new order is not among the working
    orders without being named (``oid`` is -1)."""
    new = insert.cte("new_order")
    both = sa.select(new.c.id, *PRE_TRADE.selected_columns).select_from(new).join(_WORKING_LOTS, sa.true())
    return Prepared(name, both)


def unpack(row: tuple[Any, ...]) -> PreTrade:
    """The five totals of a :data:`PRE_TRADE` row, as :func:`pre_trade` returns them."""
    net, gross, pnl, user_net, user_gross = row
    return (float(net), float(gross), float(pnl)), (float(user_net), float(user_gross))
