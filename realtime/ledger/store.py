"""The Ledger: every write goes through here, in short transactions, on SQLite or PostgreSQL."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from realtime.errors import CloseVolumeError, NotFoundError
from realtime.ledger import pretrade, totals
from realtime.ledger import tables as t
from realtime.ledger.accounts import Accounts
from realtime.ledger.core import new_id, utcnow
from realtime.ledger.engine import autocommit_engine, make_engine
from realtime.ledger.prepared import Prepared
from realtime.ledger.pretrade import PreTrade
from realtime.ledger.round_trips import RoundTrip, round_trips
from realtime.ledger.rows import OrderRow, PositionRow, from_mapping
from realtime.ledger.trades import Trades

log = logging.getLogger(__name__)
OPEN_ORDER_STATES = t.OPEN_ORDER_STATES  # see tables.py; re-exported for reconcile


_ORDER_COLS = [c.name for c in t.orders.columns if c.name != "id"]
_INSERT_ORDER = t.orders.insert().values({k: sa.bindparam(k) for k in _ORDER_COLS})
_RETURNING_ID = _INSERT_ORDER.returning(t.orders.c.id)
_PREPARED_INSERT = Prepared("af_insert_order", _RETURNING_ID)
_PREPARED_INSERT_CHECKED = pretrade.after_insert("af_insert_order_pre_trade", _RETURNING_ID)
_CLOSING_LOTS = sa.select(sa.func.coalesce(sa.func.sum(t.orders.c.volume), 0.0)).where(
    t.orders.c.position_id == sa.bindparam("pid"), t.orders.c.status.in_(OPEN_ORDER_STATES)
)


def _pending(user_id: int, client_order_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The values of a new pending order of ``user_id`` (the columns not given stay NULL)."""
    now = utcnow()
    return dict(fields, user_id=user_id, client_order_id=client_order_id, status="pending",
                created_at=now, updated_at=now)


def _written(values: dict[str, Any], order_id: int) -> OrderRow:
    """The order row that inserting ``values`` as ``order_id`` wrote, without reading it back."""
    row = {k: None for k in OrderRow.__dataclass_fields__} | values | {"id": order_id}
    return from_mapping(OrderRow, row)


def reserve_close(c: sa.Connection, position_id: int, volume: float) -> None:
    """Refuse a close of ``volume`` lots unless the position, less its closing orders still in
    flight, has them; called in the transaction that writes the closing order.

    The position row is locked first (FOR UPDATE on PostgreSQL; on SQLite the ledger's write
    lock already serialises writers), so two concurrent closes cannot both see the full volume.
    """
    q = t.positions.select().where(t.positions.c.id == position_id)
    if c.dialect.name == "postgresql":
        q = q.with_for_update()
    pos = c.execute(q).mappings().first()
    if pos is None or pos["status"] != "open":
        raise NotFoundError(f"no open position {position_id}")
    pending = float(c.execute(_CLOSING_LOTS, {"pid": position_id}).scalar_one())
    left = round(pos["volume"] - pending, 8)
    if volume > left + 1e-9:
        raise CloseVolumeError(
            f"cannot close {volume} lots of position {position_id}: it has {pos['volume']} lots, "
            f"{pending} of them already being closed by other orders, so at most {max(left, 0.0)} remain"
        )


def _create_tables(engine: sa.Engine, attempts: int = 5) -> None:
    """Create the ledger's tables where missing. Workers or replicas starting together on a
    fresh ledger race between create_all's check and its CREATE: the loser retries, and its
    check then finds the tables."""
    for attempt in range(attempts):
        try:
            t.metadata.create_all(engine)
            return
        except sa.exc.DBAPIError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


class Ledger:
    """Users, keys, orders, fills, positions and the audit log behind one SQLAlchemy engine."""

    def __init__(self, url: str, schema: str | None = None):
        self.url, self.schema = url, schema
        self.engine = make_engine(url, schema)
        # SQLite has one writer: queueing writers on a lock here beats sqlite3's busy handler,
        # which sleeps in growing steps and wrecks tail latency under concurrency.
        self._write_lock = threading.Lock() if self.engine.dialect.name == "sqlite" else None
        self._unit = threading.local()
        # PostgreSQL readers in autocommit: a read is one round trip instead of three (BEGIN,
        # the query, the ROLLBACK on return to the pool). Under READ COMMITTED every statement
        # takes its own snapshot anyway, so a reader sees exactly what it saw in a transaction.
        self._auto = autocommit_engine(self.engine, schema)
        _create_tables(self.engine)
        with self.begin() as c:
            t.add_missing_columns(c, schema)
            if totals.missing(c):  # a ledger written before the running totals existed
                totals.rebuild(c)
        self.accounts, self.trades = Accounts(self), Trades(self)

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """A write transaction (serialised in-process on SQLite).

        Inside :meth:`unit_of_work` on the same thread it joins that transaction instead.
        """
        outer = getattr(self._unit, "conn", None)
        if outer is not None:
            yield outer
            return
        if self._write_lock is None:
            with self.engine.begin() as c:
                yield c
            return
        with self._write_lock, self.engine.begin() as c:
            yield c

    @contextmanager
    def _unit_or(
        self, pooled: Callable[[], AbstractContextManager[sa.Connection]]
    ) -> Iterator[sa.Connection]:
        """The unit of work's connection (to see its own writes), else one from ``pooled``."""
        outer = getattr(self._unit, "conn", None)
        if outer is not None:
            yield outer
            return
        with pooled() as c:
            yield c

    def _reader(self) -> AbstractContextManager[sa.Connection]:
        """For a key lookup: the unit of work's connection, else an autocommit one."""
        return self._unit_or(self._autocommit)

    @contextmanager
    def _autocommit(self) -> Iterator[sa.Connection]:
        """The thread's held autocommit connection (see :meth:`one_connection`), else one from
        the autocommit pool for this call."""
        if getattr(self._unit, "held", None) is not None:
            if self._unit.held is True:  # the first call in the block checks one out
                self._unit.held = self._auto.connect()
            yield self._unit.held
            return
        with self._auto.connect() as c:
            yield c

    @contextmanager
    def one_connection(self) -> Iterator[None]:
        """Until the block ends, this thread's single-statement writes and reads outside a unit
        of work use one autocommit connection, checked out at the first of them: the order path's
        three statements cost one pool checkout instead of three. Each statement still commits
        by itself. Nested blocks share the outer one's."""
        if getattr(self._unit, "held", None) is not None or self._auto is self.engine:
            yield  # nested, or SQLite (one pool; its writes are transactions, see statement)
            return
        self._unit.held = True
        try:
            yield
        finally:
            self.release_connection()
            self._unit.held = None

    def release_connection(self) -> None:
        """Return the connection :meth:`one_connection` holds to the pool now (the block's next
        statement checks one out again): before a wait that does not need it, such as a remote
        broker's answer, so that the pool's other users are not kept waiting meanwhile."""
        held = getattr(self._unit, "held", None)
        if held is not None and held is not True:
            self._unit.held = True
            held.close()

    def _scanner(self) -> AbstractContextManager[sa.Connection]:
        """For a read that scans a table (totals over all days, a report): the unit of work's
        connection, else one of the main pool. Not the autocommit pool, which plans without
        sequential scans (see :func:`~realtime.ledger.engine.autocommit_engine`)."""
        return self._unit_or(self.engine.connect)

    @contextmanager
    def unit_of_work(self) -> Iterator[sa.Connection]:
        """One transaction for several ledger calls on this thread: all of them commit or none.

        Inside another unit of work on the same thread it joins the outer one.
        """
        outer = getattr(self._unit, "conn", None)
        if outer is not None:
            yield outer
            return
        with self.begin() as c:
            self._unit.conn = c
            try:
                yield c
            finally:
                self._unit.conn = None

    @contextmanager
    def statement(self) -> Iterator[sa.Connection]:
        """A connection for one write statement that commits by itself: on PostgreSQL outside a
        unit of work, one in autocommit (the statement is its own transaction: one round trip
        instead of BEGIN, the statement and COMMIT); otherwise a transaction (:meth:`begin`)."""
        if self._single_statement_writes():
            with self._autocommit() as c:
                yield c
            return
        with self.begin() as c:
            yield c

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()
        self._auto.dispose()

    def ping(self) -> bool:
        """True when the database answers."""
        try:
            with self.engine.connect() as c:
                c.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.SQLAlchemyError:
            return False

    # orders -------------------------------------------------------------------------------
    def create_order(self, user_id: int, client_order_id: str, **fields: Any) -> tuple[OrderRow, bool]:
        """Write a pending order; on a duplicate client id return (first order, False).

        A closing order (``position_id``) is checked against what the position has left in the
        same transaction (:func:`reserve_close`); a retry of one returns the first order first.
        """
        values = _pending(user_id, client_order_id, fields)
        try:
            full = {k: None for k in _ORDER_COLS} | values
            if fields.get("position_id") is None:
                # an opening order is one INSERT: on PostgreSQL it is committed (and durable)
                # when it returns, in one round trip
                with self.statement() as c:
                    if c.dialect.name == "postgresql":
                        order_id = int(_PREPARED_INSERT.run(c, full)[0][0])
                    else:
                        order_id = new_id(c.execute(_INSERT_ORDER, full))
            else:
                with self.begin() as c:
                    q = t.orders.select().where(
                        t.orders.c.user_id == user_id, t.orders.c.client_order_id == client_order_id
                    )
                    first = c.execute(q).mappings().first()
                    if first is not None:
                        return from_mapping(OrderRow, first), False
                    reserve_close(c, fields["position_id"], fields["volume"])
                    order_id = new_id(c.execute(_INSERT_ORDER, full))
        except IntegrityError as exc:
            return self._first_order(user_id, client_order_id, exc), False
        return _written(values, order_id), True

    def create_opening_order(
        self, user_id: int, client_order_id: str, day: dt.date, **fields: Any
    ) -> tuple[OrderRow, bool, PreTrade | None]:
        """:meth:`create_order` of an opening order and, when it is new, what its pre-trade
        check reads (:meth:`pre_trade_totals` of ``day``, as of before the order). On
        PostgreSQL the INSERT and the read are one statement: one round trip and one commit
        (:func:`~realtime.ledger.pretrade.after_insert`). A retry gets None for the totals."""
        if fields.get("position_id") is not None:
            raise ValueError("create_opening_order is for opening orders (no position_id)")
        if self.engine.dialect.name != "postgresql":
            order, created = self.create_order(user_id, client_order_id, **fields)
            if not created:
                return order, False, None
            return order, True, self.pre_trade_totals(order.symbol, day, user_id, order.id)
        values = _pending(user_id, client_order_id, fields)
        params = {k: None for k in _ORDER_COLS} | values | {"day": day, "uid": user_id, "oid": -1}
        try:
            with self.statement() as c:
                row = _PREPARED_INSERT_CHECKED.run(c, params)[0]
        except IntegrityError as exc:
            return self._first_order(user_id, client_order_id, exc), False, None
        return _written(values, int(row[0])), True, pretrade.unpack(tuple(row[1:]))

    def _first_order(self, user_id: int, client_order_id: str, error: IntegrityError) -> OrderRow:
        """The order that won a duplicate client id (the unique constraint decided the race:
        whoever inserted first owns the id); ``error`` when there is none."""
        existing = self.order_by_client_id(user_id, client_order_id)
        if existing is None:
            raise error
        return existing

    def _single_statement_writes(self) -> bool:
        """Whether a one-statement write may commit by itself: on PostgreSQL, outside a unit
        of work (which it must join)."""
        return self._auto is not self.engine and getattr(self._unit, "conn", None) is None

    def order_by_client_id(self, user_id: int, client_order_id: str) -> OrderRow | None:
        """The order a client id names, if any."""
        q = t.orders.select().where(
            t.orders.c.user_id == user_id, t.orders.c.client_order_id == client_order_id
        )
        with self._reader() as c:
            m = c.execute(q).mappings().first()
        return None if m is None else from_mapping(OrderRow, m)

    def get_order(self, order_id: int) -> OrderRow | None:
        """One order by id."""
        with self._reader() as c:
            m = c.execute(t.orders.select().where(t.orders.c.id == order_id)).mappings().first()
        return None if m is None else from_mapping(OrderRow, m)

    def list_orders(
        self, user_id: int | None = None, status: tuple[str, ...] | None = None, limit: int = 100
    ) -> list[OrderRow]:
        """Newest orders first, optionally for one user and some states."""
        q = t.orders.select().order_by(t.orders.c.id.desc()).limit(limit)
        if user_id is not None:
            q = q.where(t.orders.c.user_id == user_id)
        if status:
            q = q.where(t.orders.c.status.in_(status))
        with self.engine.connect() as c:
            return [from_mapping(OrderRow, m) for m in c.execute(q).mappings()]

    def set_order_status(
        self,
        order_id: int,
        status: str,
        message: str | None = None,
        broker_order_id: str | None = None,
        only_from: tuple[str, ...] | None = None,
    ) -> bool:
        """Move an order to ``status``; with ``only_from``, only when it is still in one of those
        states (a conditional UPDATE, so a fill booked meanwhile is never overwritten).
        Return whether the order moved."""
        values: dict[str, Any] = {"status": status, "updated_at": utcnow()}
        if message is not None:
            values["message"] = message[:500]
        if broker_order_id is not None:
            values["broker_order_id"] = broker_order_id
        stmt = t.orders.update().where(t.orders.c.id == order_id)
        if only_from is not None:
            stmt = stmt.where(t.orders.c.status.in_(only_from))
        with self.begin() as c:
            return bool(c.execute(stmt.values(**values)).rowcount)

    # positions ----------------------------------------------------------------------------
    def positions(self, status: str | None = "open", opener: int | None = None) -> list[PositionRow]:
        """Positions, oldest first; with ``opener``, only those opened by that user's orders."""
        q = t.positions.select().order_by(t.positions.c.id)
        if status:
            q = q.where(t.positions.c.status == status)
        if opener is not None:
            mine = sa.select(t.orders.c.id).where(t.orders.c.user_id == opener)
            q = q.where(t.positions.c.order_id.in_(mine))
        with self.engine.connect() as c:
            return [from_mapping(PositionRow, m) for m in c.execute(q).mappings()]

    def risk_totals(
        self, symbol: str, day: dt.date, exclude_order_id: int | None = None
    ) -> tuple[float, float, float]:
        """What the pre-trade check needs in one read: net lots of ``symbol``, gross lots (both
        counting working opening orders other than ``exclude_order_id``), and the P&L of ``day``
        net of commissions (see :mod:`realtime.ledger.pretrade`)."""
        with self._reader() as c:
            return pretrade.snapshot(c, symbol, day, exclude_order_id)

    def user_exposure(
        self, user_id: int, symbol: str, exclude_order_id: int | None = None
    ) -> tuple[float, float]:
        """One user's net lots of ``symbol`` and gross lots, its working opening orders counted
        (see :func:`realtime.ledger.pretrade.pre_trade`)."""
        with self._reader() as c:
            return pretrade.user_snapshot(c, user_id, symbol, exclude_order_id)

    def pre_trade_totals(
        self, symbol: str, day: dt.date, user_id: int, exclude_order_id: int | None = None
    ) -> tuple[tuple[float, float, float], tuple[float, float]]:
        """:meth:`risk_totals` and :meth:`user_exposure` of ``user_id`` in one read (one
        statement): what the pre-trade check of an opening order needs."""
        with self._reader() as c:
            return pretrade.pre_trade(c, symbol, day, user_id, exclude_order_id)

    def user_daily_pnl(self, user_id: int, day: dt.date) -> float:
        """``user_id``'s realised P&L on ``day`` net of commissions, swaps included."""
        with self._scanner() as c:
            return totals.user_day_pnl(c, user_id, day)

    def round_trips(self, client_order_prefix: str, since: dt.datetime) -> list[RoundTrip]:
        """Closed positions opened since ``since`` by orders whose client id starts with
        ``client_order_prefix``, each net of its costs (see :mod:`realtime.ledger.round_trips`)."""
        with self._scanner() as c:
            return round_trips(c, client_order_prefix, since)

    def lifetime_pnl(self) -> float:
        """Realised P&L net of commissions since the ledger began (a paper account's balance
        is its opening balance plus this)."""
        with self._scanner() as c:
            return totals.lifetime_pnl(c)

    def max_broker_id(self) -> int:
        """The largest numeric broker id (order, deal or position) the ledger has ever booked, 0
        if none: an in-process broker numbers on from here after a restart, so a new deal can
        never carry the id of one booked before it (and be taken for already booked)."""
        cols = (t.orders.c.broker_order_id, t.fills.c.broker_deal_id, t.positions.c.broker_position_id)
        best = 0
        with self._scanner() as c:
            for col in cols:
                # Numeric strings order by length, then text: no CAST, which differs by backend.
                q = sa.select(col).where(col.is_not(None)).order_by(sa.func.length(col).desc(), col.desc())
                values: list[object] = list(c.execute(q.limit(50)).scalars())
                for value in values:
                    text = str(value)
                    if text.isdigit():
                        best = max(best, int(text))
                        break
        return best

    def swaps_through(self) -> dict[int, dt.datetime]:
        """The last rollover whose swap is booked, per position id."""
        with self._scanner() as c:
            return totals.swaps_through(c)

    def rebuild_totals(self) -> None:
        """Recompute the running totals from fills and positions (a repair; never needed in use)."""
        with self.begin() as c:
            totals.rebuild(c)

    def get_position(self, position_id: int) -> PositionRow | None:
        """One position by id."""
        with self._reader() as c:
            m = c.execute(t.positions.select().where(t.positions.c.id == position_id)).mappings().first()
        return None if m is None else from_mapping(PositionRow, m)

    # audit --------------------------------------------------------------------------------
    def audit(
        self, actor: str, action: str, detail: dict[str, Any], conn: sa.Connection | None = None
    ) -> None:
        """Append one audit entry (inside ``conn``'s transaction when given)."""
        stmt = t.audit_log.insert().values(ts=utcnow(), actor=actor, action=action, detail=detail)
        if conn is not None:
            conn.execute(stmt)
            return
        with self.begin() as c:
            c.execute(stmt)

    def audit_entries(self, action: str | None = None) -> list[dict[str, Any]]:
        """Audit entries, oldest first."""
        q = t.audit_log.select().order_by(t.audit_log.c.id)
        if action:
            q = q.where(t.audit_log.c.action == action)
        with self.engine.connect() as c:
            return [dict(m) for m in c.execute(q).mappings()]
