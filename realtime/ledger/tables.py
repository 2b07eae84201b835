"""Table definitions (SQLAlchemy Core): one MetaData, portable across SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone otherwise)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("the ledger stores timezone-aware datetimes only")
        return None if value is None else value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


metadata = sa.MetaData()
# Order states that may still trade. "unknown": sent, but the broker's answer never came
# (timeout, lost link): it may have been executed, so reconciliation looks for its deal.
OPEN_ORDER_STATES = ("pending", "sent", "placed", "unknown")
_ts = UTCDateTime()

users = sa.Table(
    "af_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(256)),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("disabled_at", _ts),  # set: no key, password or session of the user works
    # Part of every session token; bumping it ends the user's sessions (JWTs) at once.
    sa.Column("session_version", sa.Integer, nullable=False, server_default="0"),
)

api_keys = sa.Table(
    "af_api_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key_id", sa.String(16), nullable=False, unique=True),  # public part, for lookup
    sa.Column("user_id", sa.Integer, sa.ForeignKey("af_users.id"), nullable=False),
    sa.Column("key_hash", sa.String(256), nullable=False),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("revoked_at", _ts),
)

orders = sa.Table(
    "af_orders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("client_order_id", sa.String(64), nullable=False),
    sa.Column("symbol", sa.String(16), nullable=False),
    sa.Column("side", sa.String(4), nullable=False),
    sa.Column("type", sa.String(8), nullable=False),
    sa.Column("volume", sa.Float, nullable=False),
    sa.Column("price", sa.Float),
    sa.Column("sl", sa.Float),
    sa.Column("tp", sa.Float),
    sa.Column("position_id", sa.Integer),  # set when the order closes a position
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("broker_order_id", sa.String(64)),
    sa.Column("fill_price", sa.Float),
    sa.Column("message", sa.String(500)),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("updated_at", _ts, nullable=False),
    # Idempotency: a retried request with the same client order id finds this row.
    sa.UniqueConstraint("user_id", "client_order_id", name="uq_af_orders_client_id"),
)
# The pre-trade check sums working orders (a few) by status among thousands of filled ones.
# On PostgreSQL the index holds working orders only (a filled order leaves it), so it stays the
# size of what is in flight; SQLite, whose planner matches partial-index predicates only
# textually, keeps every order in it.
WORKING_INDEX = sa.Index(
    "ix_af_orders_working",
    orders.c.status,
    postgresql_where=orders.c.status.in_([sa.literal_column(f"'{s}'") for s in OPEN_ORDER_STATES]),
)

fills = sa.Table(
    "af_fills",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("order_id", sa.Integer, sa.ForeignKey("af_orders.id"), nullable=False),
    sa.Column("symbol", sa.String(16), nullable=False),
    sa.Column("side", sa.String(4), nullable=False),
    sa.Column("volume", sa.Float, nullable=False),
    sa.Column("price", sa.Float, nullable=False),
    sa.Column("commission", sa.Float, nullable=False),
    sa.Column("broker_deal_id", sa.String(64)),
    sa.Column("ts", _ts, nullable=False),
    sa.Column("realized_pnl", sa.Float),  # gross P&L this fill realised by reducing a position
)

positions = sa.Table(
    "af_positions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("symbol", sa.String(16), nullable=False),
    sa.Column("side", sa.String(4), nullable=False),
    sa.Column("volume", sa.Float, nullable=False),
    sa.Column("open_price", sa.Float, nullable=False),
    sa.Column("sl", sa.Float),
    sa.Column("tp", sa.Float),
    sa.Column("broker_position_id", sa.String(64)),
    sa.Column("order_id", sa.Integer),
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("opened_at", _ts, nullable=False),
    sa.Column("closed_at", _ts),
    sa.Column("close_price", sa.Float),
    sa.Column("realized_pnl", sa.Float),
)
sa.Index("ix_af_positions_status", positions.c.status)

# Overnight swap, one row per position and rollover (the unique key makes booking idempotent);
# ``amount`` < 0 is a charge. It also goes into af_daily_pnl's ``realized`` on the rollover's day.
# A broker that charges swap itself (MT5) reports a running total per position: each row is then
# the change the sync saw, dated when it saw it, and ``broker_amount`` is that change in the
# broker's own currency (the sum of it is what has been booked of the broker's total).
swaps = sa.Table(
    "af_swaps",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("position_id", sa.Integer, sa.ForeignKey("af_positions.id"), nullable=False),
    sa.Column("rollover", _ts, nullable=False),
    sa.Column("weight", sa.Integer, nullable=False),  # nights charged: 3 on Wednesdays
    sa.Column("amount", sa.Float, nullable=False),
    sa.Column("broker_amount", sa.Float),  # NULL for swap the service computed (paper)
    sa.UniqueConstraint("position_id", "rollover", name="uq_af_swaps_position_rollover"),
)

audit_log = sa.Table(
    "af_audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("ts", _ts, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
)

# Running totals the pre-trade risk check reads, kept in the same transaction as every fill so
# that the check costs a few primary-key range reads however many positions and fills there are.
# Derived data: ``realtime.ledger.totals.rebuild`` recomputes them from fills and positions.
# Every total is split over ``TOTAL_SLOTS`` rows (a fill adds to the slot of its order id, see
# ``totals.slot_of``) and read as their sum: with one row per symbol or day, every concurrent
# fill updated the same row and so waited for the previous fill's commit (its WAL flush) on
# PostgreSQL. (The single-row tables of older releases, af_exposure and af_daily_pnl, are
# no longer written.)
TOTAL_SLOTS = 16

exposure = sa.Table(
    "af_symbol_lots",
    metadata,
    sa.Column("symbol", sa.String(16), primary_key=True),
    sa.Column("slot", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("net_lots", sa.Float, nullable=False),  # buy lots minus sell lots still open
    sa.Column("gross_lots", sa.Float, nullable=False),
)

daily_pnl = sa.Table(
    "af_day_pnl",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),  # UTC day of the fill
    sa.Column("slot", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("realized", sa.Float, nullable=False),
    sa.Column("commission", sa.Float, nullable=False),
)

# Per user: the open lots of the positions its orders opened (whoever closes them), so that the
# per-user limits cost the same lookups as the desk-wide ones.
user_exposure = sa.Table(
    "af_user_lots",
    metadata,
    sa.Column("user_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("symbol", sa.String(16), primary_key=True),
    sa.Column("slot", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("net_lots", sa.Float, nullable=False),
    sa.Column("gross_lots", sa.Float, nullable=False),
)

# Trading-halt state that must outlive the process: one row per switch (today only
# ``kill_switch``); ``reason`` NULL means released. The audit log keeps the history.
risk_state = sa.Table(
    "af_risk_state",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("reason", sa.String(500)),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("updated_at", _ts, nullable=False),
)


# Columns added after a table first shipped: (table, column DDL). create_all never alters an
# existing table, so a ledger written by an older release gets them here.
_ADDED = [
    ("af_users", "disabled_at TIMESTAMP WITH TIME ZONE"),
    ("af_users", "session_version INTEGER NOT NULL DEFAULT 0"),
    ("af_swaps", "broker_amount FLOAT"),
]


def add_missing_columns(conn: sa.Connection, schema: str | None) -> None:
    """ALTER TABLE ... ADD COLUMN for each column of ``_ADDED`` an existing table lacks, and the
    indexes added since (create_all makes those only with a new table)."""
    insp = sa.inspect(conn)
    indexes = {i["name"] for i in insp.get_indexes("af_orders", schema=schema)}
    # IF [NOT] EXISTS: workers starting together on an older ledger all get here.
    if WORKING_INDEX.name not in indexes:
        conn.execute(sa.schema.CreateIndex(WORKING_INDEX, if_not_exists=True))
    if "ix_af_orders_status" in indexes:  # the full status index it replaces
        qualified = f'"{schema}"."ix_af_orders_status"' if schema else '"ix_af_orders_status"'
        conn.execute(sa.text(f"DROP INDEX IF EXISTS {qualified}"))
    for table, ddl in _ADDED:
        name = ddl.split()[0]
        if name not in {c["name"] for c in insp.get_columns(table, schema=schema)}:
            if conn.dialect.name == "sqlite":
                ddl = ddl.replace(" WITH TIME ZONE", "")
            qualified = f'"{schema}"."{table}"' if schema else f'"{table}"'
            conn.execute(sa.text(f"ALTER TABLE {qualified} ADD COLUMN {ddl}"))
