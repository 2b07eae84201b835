"""client_order_id is an idempotency key per user: a retry gets the first order, a different order
under the same key gets 409, and another user's same key is their own order."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from realtime.main import create_app
from tests.realtime.conftest import make_user, settings_for


def order(**kw: Any) -> dict[str, Any]:
    return {"symbol": "EURUSD", "side": "buy", "volume": 0.1, "client_order_id": uuid.uuid4().hex} | kw


@pytest.fixture
def desk(ledger_dir):
    with TestClient(create_app(settings_for(ledger_dir))) as c:
        c.alice = make_user(c, "alice", "trader")  # type: ignore[attr-defined]
        c.bob = make_user(c, "bob", "trader")  # type: ignore[attr-defined]
        yield c


def test_a_retry_with_the_same_contents_returns_the_first_order(desk):
    c, body = desk, order(sl=1.0)
    first = c.post("/api/v1/orders", json=body, headers=c.alice)
    again = c.post("/api/v1/orders", json=dict(body), headers=c.alice)
    assert first.status_code == 201 and again.status_code == 200, again.text
    assert again.json() == first.json()


@pytest.mark.parametrize(
    "change",
    [
        {"volume": 0.2},
        {"side": "sell"},
        {"symbol": "GBPUSD"},
        {"sl": 1.0},
        {"tp": 5.0},
        {"type": "limit", "price": 1.0},
    ],
    ids=lambda d: "-".join(d),
)
def test_the_same_key_with_different_contents_is_a_conflict(desk, change):
    c, body = desk, order()
    first = c.post("/api/v1/orders", json=body, headers=c.alice)
    assert first.status_code == 201, first.text
    r = c.post("/api/v1/orders", json=body | change, headers=c.alice)
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    assert body["client_order_id"] in detail and f"order {first.json()['id']}" in detail
    assert next(iter(change)) in detail
    mine = c.get("/api/v1/orders", headers=c.alice).json()
    assert [o["id"] for o in mine] == [first.json()["id"]]  # nothing new written or sent


def test_the_same_key_under_two_users_is_two_orders(desk):
    c, body = desk, order()
    a = c.post("/api/v1/orders", json=body, headers=c.alice)
    b = c.post("/api/v1/orders", json=body | {"volume": 0.3}, headers=c.bob)
    assert a.status_code == 201 and b.status_code == 201, b.text
    assert a.json()["id"] != b.json()["id"] and b.json()["volume"] == 0.3


def test_a_close_retried_with_its_client_order_id_returns_the_first_close(desk):
    c = desk
    assert c.post("/api/v1/orders", json=order(volume=1.0), headers=c.alice).status_code == 201
    (pos,) = c.get("/api/v1/positions", headers=c.alice).json()
    body = {"volume": 0.4, "client_order_id": uuid.uuid4().hex}
    first = c.post(f"/api/v1/positions/{pos['id']}/close", json=body, headers=c.alice)
    again = c.post(f"/api/v1/positions/{pos['id']}/close", json=body, headers=c.alice)
    assert first.status_code == 200 and again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    (left,) = c.get("/api/v1/positions", headers=c.alice).json()
    assert left["volume"] == pytest.approx(0.6)
    other = c.post(f"/api/v1/positions/{pos['id']}/close", json=body | {"volume": 0.2}, headers=c.alice)
    assert other.status_code == 409, other.text
