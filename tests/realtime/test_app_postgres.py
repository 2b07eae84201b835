"""The whole app on a PostgreSQL ledger: orders, idempotency, races, closes, P&L and a restart.

Each test gets a throwaway schema on the test database, dropped afterwards. Under CI=true a
missing PostgreSQL fails the run (see ``postgres_dsn`` in tests/conftest.py) instead of skipping.
"""

from __future__ import annotations

import datetime as dt
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from realtime.ledger import Ledger
from realtime.main import create_app
from tests.realtime.conftest import ADMIN_KEY, make_user, settings_for

COMMISSION = 3.5  # per lot and fill, as settings_for leaves it (the Settings default)


def pg_app(ledger_dir: Path, dsn: str, schema: str) -> TestClient:
    """A client (not yet started) for the app with its ledger in ``schema``."""
    cfg = settings_for(ledger_dir, ledger_url=dsn, ledger_schema=schema, commission_per_lot=COMMISSION)
    return TestClient(create_app(cfg))


def order(**kw: Any) -> dict[str, Any]:
    return {"symbol": "EURUSD", "side": "buy", "volume": 0.1, "client_order_id": uuid.uuid4().hex} | kw


def test_the_app_runs_on_a_postgres_ledger(ledger_dir, postgres_dsn, pg_schema):
    with pg_app(ledger_dir, postgres_dsn, pg_schema) as c:
        assert c.get("/ready").json()["checks"]["ledger"] is True
        trader = make_user(c, "pg-trader", "trader")

        market = c.post("/api/v1/orders", json=order(), headers=trader)
        assert market.status_code == 201, market.text
        assert market.json()["status"] == "filled" and market.json()["fill_price"] > 0

        limit = c.post("/api/v1/orders", json=order(type="limit", price=0.5), headers=trader)
        assert limit.status_code == 201 and limit.json()["status"] == "placed", limit.text
        cancelled = c.delete(f"/api/v1/orders/{limit.json()['id']}", headers=trader)
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"

        # A retry with the same contents returns the first order; different contents are a 409.
        body = order(volume=0.2)
        first = c.post("/api/v1/orders", json=body, headers=trader)
        again = c.post("/api/v1/orders", json=body, headers=trader)
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json() == first.json()
        other = c.post("/api/v1/orders", json=body | {"volume": 0.5, "side": "sell"}, headers=trader)
        assert other.status_code == 409, other.text

        # Eight threads race the same client_order_id through PostgreSQL's unique constraint.
        race = order(volume=0.3)
        with ThreadPoolExecutor(8) as pool:
            rs = list(pool.map(lambda _: c.post("/api/v1/orders", json=race, headers=trader), range(8)))
        assert sorted(r.status_code for r in rs) == [200] * 7 + [201], [r.text for r in rs]
        assert len({r.json()["id"] for r in rs}) == 1
        with sa.create_engine(postgres_dsn).connect() as db:
            n = db.execute(
                sa.text(f'SELECT count(*) FROM "{pg_schema}".af_orders WHERE client_order_id = :c'),
                {"c": race["client_order_id"]},
            ).scalar()
        assert n == 1

        positions = c.get("/api/v1/positions", headers=trader).json()
        assert sorted(p["volume"] for p in positions) == [0.1, 0.2, 0.3]  # one per filled order
        for p in positions:
            close = c.post(f"/api/v1/positions/{p['id']}/close", headers=trader)
            assert close.status_code == 200 and close.json()["status"] == "filled", close.text
        assert c.get("/api/v1/positions", headers=trader).json() == []
        closed = c.get("/api/v1/positions?state=closed", headers=trader).json()
        assert {p["id"] for p in closed} == {p["id"] for p in positions}

        # Today's P&L: what the closes realised, less the commission on every filled lot.
        acct = c.get("/api/v1/account", headers=trader).json()
        lots = sum(
            o["volume"] for o in c.get("/api/v1/orders", headers=trader).json() if o["status"] == "filled"
        )
        expected = sum(p["realized_pnl"] for p in closed) - COMMISSION * lots
        assert acct["daily_pnl"] == pytest.approx(expected, abs=1e-6)
        assert acct["daily_pnl"] < 0  # bought at the ask and sold at the bid of one quote
        # The desk's balance is the admins' to see; the trader's own P&L is the whole desk's here.
        assert acct["balance"] is None and acct["scope"] == "user"
        desk = c.get("/api/v1/account", headers={"X-API-Key": ADMIN_KEY}).json()
        assert desk["daily_pnl"] == pytest.approx(acct["daily_pnl"], abs=1e-6)
        assert desk["balance"] == pytest.approx(100_000.0 + acct["daily_pnl"], abs=1e-6)


def test_a_restart_on_the_same_schema_keeps_orders_and_positions(ledger_dir, postgres_dsn, pg_schema):
    with pg_app(ledger_dir, postgres_dsn, pg_schema) as c:
        trader = make_user(c, "pg-trader", "trader")
        kept = c.post("/api/v1/orders", json=order(volume=0.4), headers=trader).json()
        (kept_pos,) = c.get("/api/v1/positions", headers=trader).json()
        assert c.post("/api/v1/orders", json=order(symbol="EURUSD", side="sell", volume=0.1), headers=trader)
        (short,) = [p for p in c.get("/api/v1/positions", headers=trader).json() if p["side"] == "sell"]
        assert c.post(f"/api/v1/positions/{short['id']}/close", headers=trader).status_code == 200
        limit = c.post("/api/v1/orders", json=order(type="limit", price=0.5), headers=trader).json()
        assert c.delete(f"/api/v1/orders/{limit['id']}", headers=trader).status_code == 200
        orders_before = c.get("/api/v1/orders", headers=trader).json()
        positions_before = c.get("/api/v1/positions?state=all", headers=trader).json()
        pnl_before = c.get("/api/v1/account", headers=trader).json()["daily_pnl"]
    led = Ledger(postgres_dsn, schema=pg_schema)
    try:
        audited = len(led.audit_entries())
        with pg_app(ledger_dir, postgres_dsn, pg_schema) as c:
            # The trader's key, its orders and positions all come back from PostgreSQL.
            assert c.get("/api/v1/orders", headers=trader).json() == orders_before
            assert c.get("/api/v1/positions?state=all", headers=trader).json() == positions_before
            assert c.get("/api/v1/account", headers=trader).json()["daily_pnl"] == pytest.approx(pnl_before)
            # Reconciliation found the broker agreeing with the ledger: nothing to write down.
            assert [e for e in led.audit_entries()[audited:] if e["actor"] == "reconcile"] == []
            # The restored position trades on: it closes at the broker it was restored into.
            (pos,) = c.get("/api/v1/positions", headers=trader).json()
            assert pos == kept_pos
            close = c.post(f"/api/v1/positions/{pos['id']}/close", headers=trader)
            assert close.status_code == 200 and close.json()["status"] == "filled", close.text
            again = c.post(
                "/api/v1/orders",
                json={k: kept[k] for k in ("symbol", "side", "volume", "client_order_id")},
                headers=trader,
            )
            assert again.status_code == 200 and again.json()["id"] == kept["id"]  # idempotent across restarts
        assert led.trades.daily_pnl(dt.datetime.now(dt.UTC).date()) < pnl_before
    finally:
        led.close()
