"""Closes are idempotent by client_order_id, sl/tp are checked against the fill price, and a
kill-switch flatten tells each position's owner."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from realtime.brokers.base import Quote
from realtime.main import create_app
from tests.realtime.conftest import ADMIN_KEY, make_user, settings_for

ADMIN = {"X-API-Key": ADMIN_KEY}


def _order(**kw: object) -> dict[str, object]:
    return {"symbol": "EURUSD", "side": "buy", "volume": 0.2, "client_order_id": uuid.uuid4().hex} | kw


def _quote(c: TestClient, bid: float) -> None:
    c.app.state.svc.desk.on_quote(Quote("EURUSD", bid, bid + 0.0001, dt.datetime.now(dt.UTC)))


def test_a_retried_full_close_answers_the_original_close(ledger_dir: Path) -> None:
    with TestClient(create_app(settings_for(ledger_dir))) as c:
        _quote(c, 1.1000)
        trader = make_user(c, "closer", "trader")
        c.post("/api/v1/orders", json=_order(), headers=trader)
        c.post("/api/v1/orders", json=_order(), headers=trader)
        first, second = (p["id"] for p in c.get("/api/v1/positions", headers=trader).json())
        body = {"client_order_id": "close-once"}
        r1 = c.post(f"/api/v1/positions/{first}/close", json=body, headers=trader)
        r2 = c.post(f"/api/v1/positions/{first}/close", json=body, headers=trader)  # the retry
        assert r1.status_code == 200 and r2.status_code == 200 and r2.json() == r1.json()
        # The same key on another position is a conflict, not the first close's answer.
        r3 = c.post(f"/api/v1/positions/{second}/close", json=body, headers=trader)
        assert r3.status_code == 409
        assert [p["id"] for p in c.get("/api/v1/positions", headers=trader).json()] == [second]
        # A retry asking for another volume is a conflict too.
        r4 = c.post(f"/api/v1/positions/{first}/close", json=body | {"volume": 0.1}, headers=trader)
        assert r4.status_code == 409


def test_sl_and_tp_are_checked_against_the_fill_price(ledger_dir: Path) -> None:
    with TestClient(create_app(settings_for(ledger_dir))) as c:
        _quote(c, 1.1000)  # ask 1.1001
        # A buy limit at 1.1100 is marketable: it fills at 1.1001, so an sl at 1.1050 is above it.
        r = c.post("/api/v1/orders", json=_order(type="limit", price=1.1100, sl=1.1050), headers=ADMIN)
        assert r.status_code == 422 and "sl" in r.json()["detail"]
        # A sell limit at 1.0900 fills at the bid 1.1000: a tp at 1.0950 is fine, one at 1.1050 is not.
        ok = c.post(
            "/api/v1/orders", json=_order(side="sell", type="limit", price=1.0900, tp=1.0950), headers=ADMIN
        )
        assert ok.status_code == 201 and ok.json()["status"] == "filled"
        bad = c.post(
            "/api/v1/orders", json=_order(side="sell", type="limit", price=1.0900, tp=1.1050), headers=ADMIN
        )
        assert bad.status_code == 422
        # A resting limit is checked against its own price.
        rest = c.post("/api/v1/orders", json=_order(type="limit", price=1.0500, sl=1.0400), headers=ADMIN)
        assert rest.status_code == 201 and rest.json()["status"] == "placed"


def test_a_flatten_tells_each_owner(ledger_dir: Path) -> None:
    with TestClient(create_app(settings_for(ledger_dir))) as c:
        _quote(c, 1.1000)
        trader = make_user(c, "owner", "trader")
        uid = next(u["id"] for u in c.get("/admin/users", headers=ADMIN).json() if u["name"] == "owner")
        c.post("/api/v1/orders", json=_order(), headers=trader)
        orders = c.app.state.svc.desk.orders
        seen: list[tuple[str, dict[str, object]]] = []
        real = orders.on_event
        orders.on_event = lambda kind, payload: (seen.append((kind, payload)), real(kind, payload))
        r = c.post("/admin/kill", json={"reason": "test", "flatten": True}, headers=ADMIN)
        assert r.status_code == 200 and any("closed position" in a for a in r.json()["actions"])
        fills = [p for kind, p in seen if kind == "fill"]
        assert fills and all(p["user_id"] == uid for p in fills)


def test_a_viewer_sees_its_own_pnl_not_the_desks_account(ledger_dir: Path) -> None:
    with TestClient(create_app(settings_for(ledger_dir, commission_per_lot=0.0))) as c:
        _quote(c, 1.1000)
        a, b = make_user(c, "ta", "trader"), make_user(c, "tb", "trader")
        viewer = make_user(c, "va", "viewer")
        for who in (a, b):
            c.post("/api/v1/orders", json=_order(), headers=who)
        _quote(c, 1.1010)
        pa = c.get("/api/v1/positions", headers=a).json()[0]["id"]
        c.post(f"/api/v1/positions/{pa}/close", headers=a)  # A realises ~ +18 (0.2 lots, 9 pips)
        desk = c.get("/api/v1/account", headers=ADMIN).json()
        mine = c.get("/api/v1/account", headers=a).json()
        theirs = c.get("/api/v1/account", headers=b).json()
        seen = c.get("/api/v1/account", headers=viewer).json()
        assert desk["scope"] == "desk" and desk["balance"] is not None
        assert mine["scope"] == "user" and mine["balance"] is None and mine["equity"] is None
        assert mine["daily_pnl"] == pytest.approx(desk["daily_pnl"], abs=1e-9) and mine["daily_pnl"] > 0
        assert theirs["daily_pnl"] == 0.0 and seen["daily_pnl"] == 0.0
