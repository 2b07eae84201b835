"""A restart of the service on the paper broker picks up the account where the ledger left it."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from realtime.brokers.base import Quote
from realtime.main import create_app
from tests.realtime.conftest import ADMIN_KEY, settings_for

ADMIN = {"X-API-Key": ADMIN_KEY}


def order(**kw: object) -> dict[str, object]:
    return {"symbol": "EURUSD", "side": "buy", "volume": 0.1, "client_order_id": uuid.uuid4().hex} | kw


def quote_at(c: TestClient, bid: float) -> None:
    c.app.state.svc.desk.on_quote(Quote("EURUSD", bid, bid + 0.0001, dt.datetime.now(dt.UTC)))


def test_resting_limits_stops_and_the_balance_survive_a_restart(ledger_dir: Path) -> None:
    cfg = settings_for(ledger_dir)
    with TestClient(create_app(cfg)) as c:
        quote_at(c, 1.1000)
        # A round trip that pays spread and commission, so the balance moves off the opening one.
        pos = c.post("/api/v1/orders", json=order(), headers=ADMIN).json()
        [p] = c.get("/api/v1/positions", headers=ADMIN).json()
        assert c.post(f"/api/v1/positions/{p['id']}/close", headers=ADMIN).status_code == 200
        limit = c.post("/api/v1/orders", json=order(type="limit", price=1.0950), headers=ADMIN).json()
        stop = c.post("/api/v1/orders", json=order(sl=1.0900), headers=ADMIN).json()
        before = c.get("/api/v1/account", headers=ADMIN).json()
        assert pos["status"] == "filled" and limit["status"] == "placed" and stop["status"] == "filled"
        assert before["balance"] < cfg.paper_balance
    with TestClient(create_app(cfg)) as c:
        quote_at(c, 1.1000)
        after = c.get("/api/v1/account", headers=ADMIN).json()
        assert after["balance"] == pytest.approx(before["balance"], abs=1e-6)
        # Still working after the restart (not cancelled by reconciliation) ...
        assert c.get(f"/api/v1/orders/{limit['id']}", headers=ADMIN).json()["status"] == "placed"
        # ... so a quote through its price fills it; and one through the sl closes that position.
        quote_at(c, 1.0940)
        assert c.get(f"/api/v1/orders/{limit['id']}", headers=ADMIN).json()["status"] == "filled"
        quote_at(c, 1.0890)
        open_orders = {p["order_id"] for p in c.get("/api/v1/positions", headers=ADMIN).json()}
        assert open_orders == {limit["id"]}  # the sl position is closed, the limit's is open
        actions = [e["action"] for e in c.app.state.svc.ledger.audit_entries() if e["actor"] == "reconcile"]
        assert "order_cancelled" not in actions
