"""Concurrent closes never close more than a position holds, and working orders count as exposure.

Closes race from real threads through the app on SQLite and on PostgreSQL (a throwaway schema).
The paper broker's ``submit`` is slowed down so that every request is in flight at once: the
remaining volume must be decided when the closing order is written, not when the route looked.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from realtime.brokers.base import OrderIntent, Quote
from realtime.brokers.paper import PaperBroker
from realtime.errors import BrokerError
from realtime.main import create_app
from realtime.services import Services
from tests.realtime.conftest import ADMIN_KEY, make_user, settings_for

ADMIN = {"X-API-Key": ADMIN_KEY}


def order(**kw: Any) -> dict[str, Any]:
    return {"symbol": "EURUSD", "side": "buy", "volume": 1.0, "client_order_id": uuid.uuid4().hex} | kw


def svc_of(c: TestClient) -> Services:
    """The running app's services."""
    return cast(Services, c.app.state.svc)  # type: ignore[attr-defined]


def quote_of(c: TestClient) -> Quote:
    """The paper broker's current EURUSD quote (the warm-up replay leaves one)."""
    q = svc_of(c).broker.quote("EURUSD")
    assert q is not None
    return q


def slow_broker(c: TestClient, seconds: float = 0.3) -> None:
    """Hold every submit a while, so that the concurrent requests overlap."""
    broker = svc_of(c).broker
    real = broker.submit

    def submit(intent: OrderIntent) -> Any:
        time.sleep(seconds)
        return real(intent)

    broker.submit = submit  # type: ignore[method-assign]


def race_partial_closes(c: TestClient, who: dict[str, str]) -> None:
    r = c.post("/api/v1/orders", json=order(), headers=who)
    assert r.status_code == 201 and r.json()["status"] == "filled", r.text
    (pos,) = c.get("/api/v1/positions", headers=who).json()
    slow_broker(c)
    start = threading.Barrier(3)

    def close(_: int) -> Any:
        start.wait()
        return c.post(f"/api/v1/positions/{pos['id']}/close", json={"volume": 0.75}, headers=who)

    with ThreadPoolExecutor(3) as ex:
        answers = list(ex.map(close, range(3)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 422, 422], [a.text for a in answers]
    refused = [a.json()["detail"] for a in answers if a.status_code == 422]
    assert all("at most 0.25" in d and "being closed" in d for d in refused), refused
    (left,) = c.get("/api/v1/positions", headers=who).json()
    assert left["id"] == pos["id"] and left["volume"] == pytest.approx(0.25)
    assert [p.volume for p in svc_of(c).broker.positions()] == [pytest.approx(0.25)]
    closing = [o for o in svc_of(c).ledger.list_orders() if o.position_id == pos["id"]]
    assert [(o.volume, o.status) for o in closing] == [(0.75, "filled")]  # no row for a refusal
    # What is left can still be closed, and no more.
    url = f"/api/v1/positions/{pos['id']}/close"
    assert c.post(url, json={"volume": 0.5}, headers=who).status_code == 422
    assert c.post(url, headers=who).status_code == 200
    assert c.get("/api/v1/positions", headers=who).json() == []


def test_concurrent_partial_closes_on_sqlite_never_over_close(ledger_dir: Path):
    with TestClient(create_app(settings_for(ledger_dir))) as c:
        race_partial_closes(c, make_user(c, "alice", "trader"))


def test_concurrent_partial_closes_on_postgres_never_over_close(
    ledger_dir: Path, postgres_dsn: str, pg_schema: str
):
    cfg = settings_for(ledger_dir, ledger_url=postgres_dsn, ledger_schema=pg_schema)
    with TestClient(create_app(cfg)) as c:
        race_partial_closes(c, make_user(c, "alice", "trader"))


def test_the_paper_broker_refuses_to_close_more_than_it_holds():
    b = PaperBroker()
    b.update_quote(Quote("EURUSD", 1.1000, 1.1002, dt.datetime(2024, 1, 3, 10, tzinfo=dt.UTC)))
    pos = b.submit(OrderIntent(1, "EURUSD", "buy", "market", 1.0)).broker_position_id
    with pytest.raises(BrokerError, match=r"cannot close 1\.5 lots of the 1\.0-lot paper position"):
        b.submit(OrderIntent(2, "EURUSD", "sell", "market", 1.5, close_position=pos))
    assert [p.volume for p in b.positions()] == [1.0]
    assert b.submit(OrderIntent(3, "EURUSD", "sell", "market", 1.0, close_position=pos)).status == "filled"


# Working (resting) orders and the exposure limits ----------------------------------------------


def test_resting_limit_orders_count_toward_total_exposure(ledger_dir: Path):
    cfg = settings_for(ledger_dir, max_total_exposure_lots=2.0, max_position_lots=5.0, max_order_lots=5.0)
    with TestClient(create_app(cfg)) as c:
        svc = svc_of(c)
        q = quote_of(c)
        limit = order(type="limit", price=round(q.ask - 0.002, 5), volume=1.5)
        answers = [c.post("/api/v1/orders", json=limit | {"client_order_id": uuid.uuid4().hex}, headers=ADMIN)
                   for _ in range(4)]
        # The first passes (its own pending row is not counted twice); the rest would go over.
        assert [a.status_code for a in answers] == [201, 403, 403, 403], [a.text for a in answers]
        assert answers[0].json()["status"] == "placed"
        assert "total exposure would be 3.00 lots" in answers[1].json()["detail"]
        # A market order is refused too while the limit works: 1.5 resting + 1.0 > 2.
        assert c.post("/api/v1/orders", json=order(), headers=ADMIN).status_code == 403
        # A crossing quote fills the one accepted limit: 1.5 lots open, never 6.
        svc.desk.on_quote(Quote("EURUSD", q.bid - 0.0025, q.ask - 0.0025, q.ts))
        svc.desk.on_quote(q)
        held = c.get("/api/v1/positions", headers=ADMIN).json()
        assert sum(p["volume"] for p in held) == pytest.approx(1.5)
        # Filled, it counts once (as a position), and the room left is 0.5.
        assert c.post("/api/v1/orders", json=order(volume=0.5), headers=ADMIN).status_code == 201
        assert c.post("/api/v1/orders", json=order(volume=0.1), headers=ADMIN).status_code == 403


def test_a_resting_limit_counts_toward_the_symbols_position_until_cancelled(ledger_dir: Path):
    cfg = settings_for(ledger_dir, max_total_exposure_lots=2.0, max_position_lots=2.0, max_order_lots=5.0)
    with TestClient(create_app(cfg)) as c:
        q = quote_of(c)
        sell = order(side="sell", type="limit", price=round(q.bid + 0.002, 5), volume=1.5)
        placed = c.post("/api/v1/orders", json=sell, headers=ADMIN)
        assert placed.status_code == 201 and placed.json()["status"] == "placed", placed.text
        refused = c.post("/api/v1/orders", json=order(side="sell"), headers=ADMIN)
        assert refused.status_code == 403 and "would be -2.50 lots" in refused.json()["detail"], refused.text
        assert c.delete(f"/api/v1/orders/{placed.json()['id']}", headers=ADMIN).status_code == 200
        assert c.post("/api/v1/orders", json=order(side="sell"), headers=ADMIN).status_code == 201
