"""Running risk totals: open lots per symbol and per user, and P&L per UTC day (fills and
overnight swaps).

The pre-trade risk check needs the symbol's net lots, the gross lots over every symbol, the same
two of the ordering user, and the day's P&L before every order. Summing open positions and the
day's fills for that grows with the book (several ms after a few thousand fills), so the sums
are kept as rows that every fill updates in its own transaction, and the check reads them by
primary key (see :mod:`.pretrade`). Each total is spread over slots (``tables.TOTAL_SLOTS``) so
that concurrent fills do not queue on one row. Fills and positions stay the source of truth:
:func:`rebuild` recomputes the totals from them.
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
_d, _o = t.daily_pnl.c, t.orders.c


def slot_of(key: int) -> int:
    """The slot of the totals a write keyed by ``key`` (an order or position id) adds to:
    concurrent fills are of consecutive orders, so they update different rows."""
    return key % t.TOTAL_SLOTS


def _upsert(dialect: str, table: sa.Table, cols: tuple[str, ...]) -> Any:
    """INSERT ... ON CONFLICT (primary key) DO UPDATE SET col = col + excluded.col, for both
    backends."""
    keys = tuple(c.name for c in table.primary_key.columns)
    ins = _INSERT[dialect](table).values({k: sa.bindparam(k) for k in (*keys, *cols)})
    return ins.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys], set_={k: table.c[k] + ins.excluded[k] for k in cols}
    )


# Built once per dialect: statement construction costs more than executing it on SQLite.
_STATEMENTS = {
    name: (
        _upsert(name, t.exposure, ("net_lots", "gross_lots")),
        _upsert(name, t.daily_pnl, ("realized", "commission")),
        _upsert(name, t.user_exposure, ("net_lots", "gross_lots")),
    )
    for name in _INSERT
}


def add_exposure(
    c: sa.Connection, symbol: str, side: str, lots: float, slot: int, user_id: int | None
) -> None:
    """Open (``lots`` > 0) or close (``lots`` < 0) ``lots`` of a ``side`` position in ``symbol``,
    opened by an order of ``user_id`` (None: opened by no order, so no user's)."""
    net = lots if side == "buy" else -lots
    row = {"symbol": symbol, "slot": slot, "net_lots": net, "gross_lots": lots}
    symbol_lots, _, user_lots = _STATEMENTS[c.dialect.name]
    c.execute(symbol_lots, row)
    if user_id is not None:
        c.execute(user_lots, row | {"user_id": user_id})


def add_day(c: sa.Connection, ts: dt.datetime, realized: float, commission: float, slot: int) -> None:
    """Book a fill's realised P&L and commission on its UTC day."""
    day = ts.astimezone(dt.UTC).date()
    c.execute(
        _STATEMENTS[c.dialect.name][1],
        {"day": day, "slot": slot, "realized": realized, "commission": commission},
    )


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
    add_day(c, rollover, amount, 0.0, slot_of(position_id))
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


def lifetime_pnl(c: sa.Connection) -> float:
    """Realised P&L (fills and swaps) net of commissions over every day the ledger has booked."""
    total: float = c.execute(
        sa.select(sa.func.coalesce(sa.func.sum(_d.realized - _d.commission), 0.0))
    ).scalar_one()
    return float(total)


def rebuild(c: sa.Connection) -> None:
    """Recompute every total from open positions and fills (start-up of an older ledger, repair),
    each into slot 0."""
    for table in (t.exposure, t.daily_pnl, t.user_exposure):
        c.execute(table.delete())
    p = t.positions.c
    net = sa.func.sum(sa.case((p.side == "buy", p.volume), else_=-p.volume))
    open_ = p.status == "open"
    rows = c.execute(sa.select(p.symbol, net, sa.func.sum(p.volume)).where(open_).group_by(p.symbol)).all()
    if rows:
        c.execute(
            t.exposure.insert(),
            [{"symbol": s, "slot": 0, "net_lots": n, "gross_lots": g} for s, n, g in rows],
        )
    mine = c.execute(
        sa.select(_o.user_id, p.symbol, net, sa.func.sum(p.volume))
        .select_from(t.positions.join(t.orders, _o.id == p.order_id))
        .where(open_)
        .group_by(_o.user_id, p.symbol)
    ).all()
    if mine:
        c.execute(
            t.user_exposure.insert(),
            [{"user_id": u, "symbol": s, "slot": 0, "net_lots": n, "gross_lots": g} for u, s, n, g in mine],
        )
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
            [{"day": d, "slot": 0, "realized": r, "commission": fee} for d, (r, fee) in days.items()],
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
