"""Engine set-up: SQLite in WAL mode with a busy timeout, or PostgreSQL (optionally one schema)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

from realtime.errors import LedgerError


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
    engine = sa.create_engine(url, pool_size=8, max_overflow=8)
    if schema:
        try:
            with engine.begin() as c:
                c.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        except sa.exc.IntegrityError:
            pass  # another worker created it between IF NOT EXISTS's check and its insert
        engine = engine.execution_options(schema_translate_map={None: schema})
    return engine


def autocommit_engine(engine: sa.Engine) -> sa.Engine:
    """For PostgreSQL, a second small pool of connections in autocommit for single statements
    (reads, and an opening order's INSERT): one round trip each instead of BEGIN, the statement
    and COMMIT or ROLLBACK. A separate pool, because switching a pooled connection to
    autocommit and back costs a SET on its return. SQLite gets ``engine`` itself."""
    if engine.dialect.name != "postgresql":
        return engine
    auto = sa.create_engine(engine.url, pool_size=8, max_overflow=0, isolation_level="AUTOCOMMIT")
    translate = engine.get_execution_options().get("schema_translate_map")
    return auto.execution_options(schema_translate_map=translate) if translate else auto

