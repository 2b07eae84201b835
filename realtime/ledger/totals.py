"""Running risk totals: open lots per symbol and P&L per UTC day (fills and overnight swaps).

The pre-trade risk check needs the symbol's net lots, the gross lots over every symbol and the
day's P&L before every order. Summing open positions and the day's fills for that grows with the
book (several ms after a few thousand fills), so the sums are kept as rows that every fill updates
in its own transaction, and the check reads them with primary-key lookups. Fills and positions
stay the source of truth: :func:`rebuild` recomputes the totals from them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from realtime.ledger import tables as t

_INSERT: dict[str, Callable[[sa.Table], Any]] = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
_e, _d, _o = t.exposure.c, t.daily_pnl.c, t.orders.c

# Working opening orders (resting limits, and orders still on their way) will add exposure when
# they fill, so the check counts them as if filled: otherwise four 1.5-lot limits all pass a
# 2-lot cap. ``oid`` is the order being checked, already written as pending. The status index
# keeps this a lookup of the few working orders among the many filled ones.
# The states are written into the SQL as constants: a bound IN list is re-expanded on every
# execution, which doubled this hot query's cost.
_OPEN: list[sa.ColumnElement[str]] = [sa.literal_column(f"'{s}'") for s in t.OPEN_ORDER_STATES]
_WORKING = sa.and_(_o.status.in_(_OPEN), _o.position_id.is_(None), _o.id != sa.bindparam("oid"))
_SIGNED = sa.case((_o.side == "buy", _o.volume), else_=-_o.volume)

SNAPSHOT = sa.select(
    sa.func.coalesce(
        sa.select(_e.net_lots).where(_e.symbol == sa.bindparam("symbol")).scalar_subquery(), 0.0
    )
    + sa.func.coalesce(
        sa.select(sa.func.sum(_SIGNED))
        .where(_WORKING, _o.symbol == sa.bindparam("symbol"))
        .scalar_subquery(),
        0.0,
    ),
    sa.func.coalesce(sa.select(sa.func.sum(_e.gross_lots)).scalar_subquery(), 0.0)
    + sa.func.coalesce(sa.select(sa.func.sum(_o.volume)).where(_WORKING).scalar_subquery(), 0.0),
    sa.func.coalesce(
        sa.select(_d.realized - _d.commission).where(_d.day == sa.bindparam("day")).scalar_subquery(), 0.0
    ),
)


_p = t.positions.c
_MINE = _o.user_id == sa.bindparam("uid")
# A scalar subquery on the opening order's primary key: each open position costs one index
# lookup, whatever the planner estimates. As ``order_id IN (the user's orders)`` (or EXISTS,
# which it pulls up into the same join) PostgreSQL, on stale statistics (a new ledger, or one
# that grew faster than autovacuum analyses it), joined every open position with every order of
# the user: quadratic, ~250 ms per check at a thousand open positions.
_opener = sa.select(_o.user_id).where(_o.id == _p.order_id).scalar_subquery()
_OPENED_BY = sa.and_(_p.status == "open", _opener == sa.bindparam("uid"))
_P_SIGNED = sa.case((_p.side == "buy", _p.volume), else_=-_p.volume)

# One pass over the open positions for both of a user's sums (net lots of the symbol, gross
# lots): each position costs a primary-key lookup of its opener, so two passes cost twice that.
_MY_POSITIONS = (
    sa.select(
        sa.func.coalesce(
            sa.func.sum(sa.case((_p.symbol == sa.bindparam("symbol"), _P_SIGNED), else_=0.0)), 0.0
        ).label("net"),
        sa.func.coalesce(sa.func.sum(_p.volume), 0.0).label("gross"),
    )
    .where(_OPENED_BY)
    .subquery("my_positions")
)

# One user's share of the book: the positions its orders opened and its working opening orders,
# so per-user limits charge resting orders to their owner rather than to the whole desk.
USER_SNAPSHOT = sa.select(
    _MY_POSITIONS.c.net
    + sa.func.coalesce(
        sa.select(sa.func.sum(_SIGNED))
        .where(_WORKING, _MINE, _o.symbol == sa.bindparam("symbol"))
        .scalar_subquery(),
        0.0,
    ),
    _MY_POSITIONS.c.gross
    + sa.func.coalesce(sa.select(sa.func.sum(_o.volume)).where(_WORKING, _MINE).scalar_subquery(), 0.0),
)


# Both at once for the pre-trade check: one round trip instead of two (their parameters agree).
PRE_TRADE = sa.select(*SNAPSHOT.selected_columns, *USER_SNAPSHOT.selected_columns)


def pre_trade(
    c: sa.Connection, symbol: str, day: dt.date, user_id: int, exclude_order_id: int | None = None
) -> tuple[tuple[float, float, float], tuple[float, float]]:
    """:func:`snapshot` and :func:`user_snapshot` of ``user_id`` in one statement."""
    params = {"symbol": symbol, "day": day, "uid": user_id,
              "oid": -1 if exclude_order_id is None else exclude_order_id}
    row: sa.Row[float, float, float, float, float] = c.execute(PRE_TRADE, params).one()
    net, gross, pnl, user_net, user_gross = row
    return (float(net), float(gross), float(pnl)), (float(user_net), float(user_gross))


def user_snapshot(
    c: sa.Connection, user_id: int, symbol: str, exclude_order_id: int | None = None
) -> tuple[float, float]:
    """(net lots of ``symbol``, gross lots over all symbols) of ``user_id``'s open positions and
    working opening orders other than ``exclude_order_id``."""
    params = {"uid": user_id, "symbol": symbol, "oid": -1 if exclude_order_id is None else exclude_order_id}
    row: sa.Row[float, float] = c.execute(USER_SNAPSHOT, params).one()
    net, gross = row
    return float(net), float(gross)


def _upsert(dialect: str, table: sa.Table, key: str, cols: tuple[str, ...]) -> Any:
    """INSERT ... ON CONFLICT (key) DO UPDATE SET col = col + excluded.col, for both backends."""
    ins = _INSERT[dialect](table).values({k: sa.bindparam(k) for k in (key, *cols)})
    return ins.on_conflict_do_update(
        index_elements=[table.c[key]], set_={k: table.c[k] + ins.excluded[k] for k in cols}
    )


# Built once per dialect: statement construction costs more than executing it on SQLite.
_STATEMENTS = {
    name: (
        _upsert(name, t.exposure, "symbol", ("net_lots", "gross_lots")),
        _upsert(name, t.daily_pnl, "day", ("realized", "commission")),
    )
    for name in _INSERT
}


def add_exposure(c: sa.Connection, symbol: str, side: str, lots: float) -> None:
    """Open (``lots`` > 0) or close (``lots`` < 0) ``lots`` of a ``side`` position in ``symbol``."""
    net = lots if side == "buy" else -lots
    c.execute(_STATEMENTS[c.dialect.name][0], {"symbol": symbol, "net_lots": net, "gross_lots": lots})


def add_day(c: sa.Connection, ts: dt.datetime, realized: float, commission: float) -> None:
    """Book a fill's realised P&L and commission on its UTC day."""
    day = ts.astimezone(dt.UTC).date()
    c.execute(_STATEMENTS[c.dialect.name][1], {"day": day, "realized": realized, "commission": commission})


def add_swap(
    c: sa.Connection,
    position_id: int,
    rollover: dt.datetime,
    weight: int,
    amount: float,
    broker_amount: float | None = None,
) -> bool:
    """Book a position's swap for one rollover and add it to that UTC day's realised P&L; False
    (and nothing written) when that rollover was booked for the position before.
    ``broker_amount``: the same swap in the broker's currency, when the broker charged it."""
    ins = _INSERT[c.dialect.name](t.swaps).values(
        position_id=position_id, rollover=rollover, weight=weight, amount=amount, broker_amount=broker_amount
    )
    if not c.execute(ins.on_conflict_do_nothing()).rowcount:
        return False
    add_day(c, rollover, amount, 0.0)
    return True


def broker_swap_booked(c: sa.Connection, position_id: int) -> tuple[float, dt.datetime | None]:
    """(sum of the broker-currency swap booked for a position, when the last of it was booked)."""
    s = t.swaps.c
    row: sa.Row[float, dt.datetime | None] = c.execute(
        sa.select(sa.func.coalesce(sa.func.sum(s.broker_amount), 0.0), sa.func.max(s.rollover)).where(
            s.position_id == position_id, s.broker_amount.is_not(None)
        )
    ).one()
    booked, last = row
    return float(booked), (last.astimezone(dt.UTC) if last is not None else None)


def broker_swaps_booked(c: sa.Connection, position_ids: list[int]) -> dict[int, float]:
    """The broker-currency swap booked so far, per position id among ``position_ids``."""
    s = t.swaps.c
    rows: sa.Result[int, float] = c.execute(
        sa.select(s.position_id, sa.func.sum(s.broker_amount))
        .where(s.position_id.in_(position_ids), s.broker_amount.is_not(None))
        .group_by(s.position_id)
    )
    return {pid: float(total) for pid, total in rows}


def swaps_through(c: sa.Connection) -> dict[int, dt.datetime]:
    """The last rollover booked, per position id."""
    s = t.swaps.c
    rows: sa.Result[int, dt.datetime] = c.execute(
        sa.select(s.position_id, sa.func.max(s.rollover)).group_by(s.position_id)
    )
    return {pid: ts.astimezone(dt.UTC) for pid, ts in rows}


def snapshot(
    c: sa.Connection, symbol: str, day: dt.date, exclude_order_id: int | None = None
) -> tuple[float, float, float]:
    """(net lots of ``symbol``, gross lots over all symbols, P&L of ``day`` net of commissions);
    the lots include working opening orders other than ``exclude_order_id``."""
    params = {"symbol": symbol, "day": day, "oid": -1 if exclude_order_id is None else exclude_order_id}
    row: sa.Row[float, float, float] = c.execute(SNAPSHOT, params).one()
    net, gross, pnl = row
    return float(net), float(gross), float(pnl)


def lifetime_pnl(c: sa.Connection) -> float:
    """Realised P&L (fills and swaps) net of commissions over every day the ledger has booked."""
    total: float = c.execute(
        sa.select(sa.func.coalesce(sa.func.sum(_d.realized - _d.commission), 0.0))
    ).scalar_one()
    return float(total)


def rebuild(c: sa.Connection) -> None:
    """Recompute every total from open positions and fills (start-up of an older ledger, repair)."""
    c.execute(t.exposure.delete())
    c.execute(t.daily_pnl.delete())
    p = t.positions.c
    net = sa.func.sum(sa.case((p.side == "buy", p.volume), else_=-p.volume))
    rows = c.execute(
        sa.select(p.symbol, net, sa.func.sum(p.volume)).where(p.status == "open").group_by(p.symbol)
    ).all()
    if rows:
        c.execute(t.exposure.insert(), [{"symbol": s, "net_lots": n, "gross_lots": g} for s, n, g in rows])
    days: dict[dt.date, list[float]] = defaultdict(lambda: [0.0, 0.0])
    f = t.fills.c
    fills: sa.Result[dt.datetime, float | None, float] = c.execute(
        sa.select(f.ts, f.realized_pnl, f.commission)
    )
    for ts, realized, commission in fills:
        day = days[ts.astimezone(dt.UTC).date()]
        day[0] += realized or 0.0
        day[1] += commission
    swaps: sa.Result[dt.datetime, float] = c.execute(sa.select(t.swaps.c.rollover, t.swaps.c.amount))
    for rollover, amount in swaps:
        days[rollover.astimezone(dt.UTC).date()][0] += amount
    if days:
        c.execute(
            t.daily_pnl.insert(),
            [{"day": d, "realized": r, "commission": fee} for d, (r, fee) in days.items()],
        )


def missing(c: sa.Connection) -> bool:
    """True when fills exist but no daily total does (a ledger created before the totals)."""
    has_fill = c.execute(sa.select(t.fills.c.id).limit(1)).first() is not None
    return has_fill and c.execute(sa.select(_d.day).limit(1)).first() is None


def user_day_pnl(c: sa.Connection, user_id: int, day: dt.date) -> float:
    """``user_id``'s share of ``day``'s P&L: realised P&L and commission of fills on positions its
    orders opened (closed by whoever: the user, the kill switch, an sl/tp at the broker), or of
    its own orders, plus the swap on those positions; a pass over the day's fills."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    end = start + dt.timedelta(days=1)
    f, p = t.fills.c, t.positions.c
    opener = t.orders.alias("opener")
    owner = sa.func.coalesce(
        sa.select(opener.c.user_id)
        .select_from(t.positions.join(opener, opener.c.id == p.order_id))
        .where(p.id == _o.position_id)
        .scalar_subquery(),
        _o.user_id,
    )
    fills: sa.Result[float | None, float] = c.execute(
        sa.select(f.realized_pnl, f.commission)
        .select_from(t.fills.join(t.orders, _o.id == f.order_id))
        .where(f.ts >= start, f.ts < end, owner == user_id)
    )
    total = sum((realized or 0.0) - commission for realized, commission in fills)
    s_ = t.swaps.c
    swap: float = c.execute(
        sa.select(sa.func.coalesce(sa.func.sum(s_.amount), 0.0))
        .select_from(t.swaps.join(t.positions, p.id == s_.position_id).join(t.orders, _o.id == p.order_id))
        .where(s_.rollover >= start, s_.rollover < end, _o.user_id == user_id)
    ).scalar_one()
    return float(total + float(swap))
