"""Engine set-up: SQLite in WAL mode with a busy timeout, or PostgreSQL (optionally one schema)."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

from realtime.errors import LedgerError
from realtime.ledger.prepared import forget_on_connect

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def make_engine(url: str, schema: str | None = None) -> sa.Engine:
    """An engine for ``url``; ``schema`` (PostgreSQL only) holds every ledger table."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise LedgerError(f"bad ledger URL {url!r}: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        if schema:
            raise LedgerError("ledger_schema is for PostgreSQL; SQLite has one schema per file")
        engine = sa.create_engine(url, connect_args={"timeout": 30}, pool_size=8, max_overflow=8)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            cur = dbapi_conn.cursor()
            # WAL: readers never block the writer; NORMAL sync is durable across app crashes.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    # No pre-ping: it is a round trip on every checkout (several per order). A connection the
    # server dropped fails its one statement instead, and the pool then discards every
    # connection of that generation (SQLAlchemy's disconnect handling), so the next call
    # reconnects.
    engine = sa.create_engine(url, pool_size=8, max_overflow=8, connect_args=_pg_connect_args(schema))
    forget_on_connect(engine)
    if schema:
        try:
            with engine.begin() as c:
                c.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        except sa.exc.IntegrityError:
            pass  # another worker created it between IF NOT EXISTS's check and its insert
    return engine


def _pg_connect_args(schema: str | None) -> dict[str, str]:
    """``schema`` as the connections' search_path, so that the unqualified table names resolve
    to it. (SQLAlchemy's schema_translate_map did the same by rewriting the SQL text of every
    statement on every execution: ~0.1 ms of CPU per statement on the order path.)"""
    if not schema:
        return {}
    if not _IDENTIFIER.fullmatch(schema):
        raise LedgerError(f"bad ledger schema {schema!r}: letters, digits and _ only, 63 at most")
    return {"options": f"-csearch_path={schema}"}


def autocommit_engine(engine: sa.Engine, schema: str | None = None) -> sa.Engine:
    """For PostgreSQL, a second small pool of connections in autocommit for single statements
    (key lookups, the pre-trade check, an opening order's INSERT and fill): one round trip each
    instead of BEGIN, the statement and COMMIT or ROLLBACK. A separate pool, because switching
    a pooled connection to autocommit and back costs a SET on its return; nothing is reset on
    return, since no transaction is ever left open in autocommit. SQLite gets ``engine``
    itself."""
    if engine.dialect.name != "postgresql":
        return engine
    args = _pg_connect_args(schema)
    # Plain index scans only, for the pre-trade check's pass over the working orders: a bitmap
    # scan never marks the index entries of dead row versions (every order's "pending" one) as
    # dead, so without a vacuum it visits every order ever placed, and did in a fresh ledger
    # (no statistics yet); a plain index scan marks them and skips them from then on.
    # No sequential scans either: a prepared statement's generic plan is made once, at its sixth
    # run on a connection, and kept until the table's statistics change. Made while af_orders
    # was a page or two (a fresh ledger, the first orders after start-up), the pre-trade check's
    # plan read every order ever placed, for as long as the connection lived (2.0M rows read
    # for 2,600 orders in one benchmark run). Reads that do scan a table use the main pool
    # (Ledger._scanner), so this pool serves only key lookups and the order path's statements.
    # No JIT: a sequential scan with no alternative (the sum over the few totals rows) still
    # runs, at the disabled plan's nominal cost, which is far above jit_above_cost: each check
    # was compiled, ~600 ms.
    options = ["-cenable_bitmapscan=off", "-cenable_seqscan=off", "-cjit=off"]
    args["options"] = " ".join([*filter(None, [args.get("options")]), *options])
    auto = sa.create_engine(engine.url, pool_size=8, max_overflow=0, isolation_level="AUTOCOMMIT",
                            pool_reset_on_return=None, connect_args=args)
    forget_on_connect(auto)
    return auto
