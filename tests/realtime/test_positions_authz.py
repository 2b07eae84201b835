"""Positions belong to the user whose order opened them: only they (or an admin) see and close them."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from realtime.main import create_app
from tests.realtime.conftest import ADMIN_KEY, make_user, settings_for

ADMIN = {"X-API-Key": ADMIN_KEY}


def order(**kw: Any) -> dict[str, Any]:
    return {"symbol": "EURUSD", "side": "buy", "volume": 1.0, "client_order_id": uuid.uuid4().hex} | kw


@pytest.fixture
def desk(ledger_dir):
    cfg = settings_for(ledger_dir, max_position_lots=5.0, max_total_exposure_lots=5.0)
    with TestClient(create_app(cfg)) as c:
        c.alice = make_user(c, "alice", "trader")  # type: ignore[attr-defined]
        c.bob = make_user(c, "bob", "trader")  # type: ignore[attr-defined]
        c.vic = make_user(c, "vic", "viewer")  # type: ignore[attr-defined]
        yield c


def open_position(c: TestClient, who: dict[str, str]) -> int:
    r = c.post("/api/v1/orders", json=order(), headers=who)
    assert r.status_code == 201 and r.json()["status"] == "filled", r.text
    pos = c.get("/api/v1/positions", headers=who).json()
    return int(pos[-1]["id"])


def test_another_trader_cannot_close_a_position_and_is_told_it_does_not_exist(desk):
    c = desk
    pid = open_position(c, c.alice)
    r = c.post(f"/api/v1/positions/{pid}/close", json={"volume": 0.1}, headers=c.bob)
    assert r.status_code == 404, r.text
    assert r.json()["detail"] == f"no open position {pid}"  # same answer as for a missing one
    missing = c.post("/api/v1/positions/999999/close", headers=c.bob)
    assert missing.status_code == 404 and missing.json()["detail"] == "no open position 999999"
    # Nothing was written or sent for bob, and alice's position is whole.
    assert c.get("/api/v1/orders", headers=c.bob).json() == []
    (pos,) = c.get("/api/v1/positions", headers=c.alice).json()
    assert pos["id"] == pid and pos["volume"] == pytest.approx(1.0)
    assert [p.volume for p in c.app.state.svc.broker.positions()] == [pytest.approx(1.0)]


def test_the_opener_and_an_admin_may_close(desk):
    c = desk
    mine, other = open_position(c, c.alice), open_position(c, c.alice)
    r = c.post(f"/api/v1/positions/{mine}/close", json={"volume": 0.4}, headers=c.alice)
    assert r.status_code == 200 and r.json()["status"] == "filled", r.text
    r = c.post(f"/api/v1/positions/{other}/close", headers=ADMIN)
    assert r.status_code == 200 and r.json()["status"] == "filled", r.text
    left = {p["id"]: p["volume"] for p in c.get("/api/v1/positions", headers=c.alice).json()}
    assert left == {mine: pytest.approx(0.6)}


def test_positions_list_shows_only_the_callers_own_unless_admin(desk):
    c = desk
    a, b = open_position(c, c.alice), open_position(c, c.bob)
    ids = lambda who, q="": [p["id"] for p in c.get(f"/api/v1/positions{q}", headers=who).json()]  # noqa: E731
    assert ids(c.alice) == [a] and ids(c.bob) == [b]
    assert ids(c.vic) == [] and ids(c.vic, "?state=all") == []
    assert ids(ADMIN) == [a, b]
    assert c.post(f"/api/v1/positions/{b}/close", headers=c.bob).status_code == 200
    assert ids(c.alice, "?state=closed") == [] and ids(c.bob, "?state=closed") == [b]
    assert ids(ADMIN, "?state=all") == [a, b]


def test_the_kill_switch_still_flattens_everyones_positions(desk):
    c = desk
    open_position(c, c.alice), open_position(c, c.bob)
    r = c.post("/admin/kill", json={"reason": "test", "flatten": True}, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert c.get("/api/v1/positions", headers=ADMIN).json() == []
    assert c.app.state.svc.broker.positions() == []


def test_the_kill_switch_flattens_the_rest_when_a_close_is_already_in_flight(desk):
    c = desk
    busy, other = open_position(c, c.alice), open_position(c, c.bob)
    svc = c.app.state.svc
    # A close of ``busy`` that is still pending (written, not yet answered by the broker).
    svc.ledger.create_order(0, "in-flight", symbol="EURUSD", side="sell", type="market", volume=1.0,
                            position_id=busy)
    r = c.post("/admin/kill", json={"reason": "test", "flatten": True}, headers=ADMIN)
    assert r.status_code == 200, r.text
    actions = r.json()["actions"]
    assert f"closed position {other}" in actions
    assert any(a.startswith(f"close of position {busy} failed: cannot close") for a in actions), actions
    assert [p["id"] for p in c.get("/api/v1/positions", headers=ADMIN).json()] == [busy]
