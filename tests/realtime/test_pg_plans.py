"""The order path's prepared statements keep index plans on PostgreSQL as the ledger grows.

A prepared statement's generic plan is made at its sixth run on a connection and kept until the
table's statistics change (an autovacuum's ANALYZE, a minute or more later). On a fresh ledger
that is while af_orders holds a handful of rows, where a sequential scan is the cheapest plan:
the pre-trade check then read every order ever placed, on every order, for as long as the
connection lived.
"""

from __future__ import annotations

import datetime as dt

from realtime.ledger import Ledger
from realtime.ledger import tables as t

NOW = dt.datetime(2026, 12, 4, 12, tzinfo=dt.UTC)


def _filled_orders(uid: int, n: int) -> list[dict[str, object]]:
    return [
        {"user_id": uid, "client_order_id": f"bulk-{i}", "symbol": "EURUSD", "side": "buy",
         "type": "market", "volume": 0.01, "status": "filled", "created_at": NOW, "updated_at": NOW}
        for i in range(n)
    ]


def test_the_pre_trade_check_planned_on_a_fresh_ledger_reads_only_working_orders(postgres_dsn, pg_schema):
    ledger = Ledger(postgres_dsn, schema=pg_schema)
    try:
        uid = ledger.accounts.ensure_user("alice", "trader")
        ledger.create_order(uid, "first", symbol="EURUSD", side="buy", type="market", volume=0.1)
        # Run one after another, the checks share one pooled connection: the statement is
        # prepared there and its generic plan made while af_orders has one row.
        for _ in range(8):
            ledger.pre_trade_totals("EURUSD", NOW.date(), uid)
        with ledger.engine.begin() as c:
            c.execute(t.orders.insert(), _filled_orders(uid, 3000))
        with ledger._auto.connect() as c:  # that connection: the only one its pool has made
            assert "af_pre_trade" in c.info["af_prepared"]
            plan = "\n".join(r[0] for r in c.exec_driver_sql(
                f"EXPLAIN EXECUTE af_pre_trade ('EURUSD', '{NOW.date()}', {uid}, -1)"))
        assert "Seq Scan on af_orders" not in plan, plan
        assert "ix_af_orders_working" in plan, plan
        assert "JIT" not in plan, plan  # no compilation for a read of a few rows
        totals, mine = ledger.pre_trade_totals("EURUSD", NOW.date(), uid)
        assert totals[:2] == (0.1, 0.1) and mine == (0.1, 0.1)  # the one working order
        # Reads that do scan a table still answer (they run on the main pool).
        assert ledger.lifetime_pnl() == 0.0 and ledger.swaps_through() == {}
        assert ledger.user_daily_pnl(uid, NOW.date()) == 0.0
    finally:
        ledger.close()
