"""Orders, positions and account over HTTP: validation, idempotency, roles, limits, risk, JWT."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from realtime.main import create_app
from tests.realtime.conftest import ADMIN_KEY, make_user, settings_for

ADMIN = {"X-API-Key": ADMIN_KEY}


@pytest.fixture(scope="module")
def app_client(rt_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("orders")
    for name in ("lake", "mlflow.db", "mlruns"):
        if (rt_dir / name).exists():
            (d / name).symlink_to(rt_dir / name)
    cfg = settings_for(d, max_order_lots=5.0, max_position_lots=8.0, cors_origins=["https://desk.example"])
    with TestClient(create_app(cfg)) as c:
        c.trader = make_user(c, "tina", "trader")
        c.viewer = make_user(c, "vic", "viewer")
        yield c


def order(**kw):
    return {"symbol": "EURUSD", "side": "buy", "volume": 0.1, "client_order_id": uuid.uuid4().hex} | kw


def test_market_order_fills_and_opens_a_position(app_client):
    c = app_client
    r = c.post("/api/v1/orders", json=order(), headers=c.trader)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "filled" and body["fill_price"] > 0
    pos = c.get("/api/v1/positions", headers=c.trader).json()[-1]
    assert pos["symbol"] == "EURUSD" and pos["side"] == "buy"
    close = c.post(f"/api/v1/positions/{pos['id']}/close", headers=c.trader)
    assert close.status_code == 200 and close.json()["status"] == "filled"
    closed = c.get("/api/v1/positions?state=closed", headers=c.trader).json()
    assert any(p["id"] == pos["id"] and p["realized_pnl"] is not None for p in closed)
    assert c.post(f"/api/v1/positions/{pos['id']}/close", headers=c.trader).status_code == 404
    acct = c.get("/api/v1/account", headers=c.trader).json()  # the trader's own P&L today
    assert acct["broker"] == "paper" and acct["daily_pnl"] < 0  # spread and commissions paid
    assert c.get("/api/v1/account", headers=c.viewer).json()["daily_pnl"] == 0.0  # not the viewer's


def test_retry_with_same_client_order_id_returns_first(app_client):
    c = app_client
    body = order()
    first = c.post("/api/v1/orders", json=body, headers=c.trader)
    second = c.post("/api/v1/orders", json=dict(body), headers=c.trader)
    assert first.status_code == 201 and second.status_code == 200
    assert second.json()["id"] == first.json()["id"] and second.json()["volume"] == 0.1
    changed = c.post("/api/v1/orders", json=body | {"volume": 0.2}, headers=c.trader)
    assert changed.status_code == 409 and "different contents" in changed.json()["detail"]


def test_concurrent_duplicate_submissions_make_one_order(app_client):
    c = app_client
    body = order(volume=0.3)
    with ThreadPoolExecutor(6) as pool:
        rs = list(pool.map(lambda _: c.post("/api/v1/orders", json=body, headers=c.trader), range(6)))
    assert sorted(r.status_code for r in rs).count(201) == 1
    assert len({r.json()["id"] for r in rs}) == 1
    mine = c.get("/api/v1/orders?limit=1000", headers=c.trader).json()
    assert sum(o["client_order_id"] == body["client_order_id"] for o in mine) == 1


@pytest.mark.parametrize(
    ("patch", "status", "needle"),
    [
        ({"symbol": "EURUSX"}, 422, "EURUSX"),
        ({"volume": 0}, 422, "greater than 0"),
        ({"volume": -1}, 422, "greater than 0"),
        ({"volume": 5000}, 422, "less than or equal"),
        ({"volume": 0.123}, 422, "0.01-lot step"),
        ({"volume": 6.0}, 403, "max order size"),
        ({"sl": 5.0}, 422, "sl 5.0 is on the wrong side"),
        ({"tp": 0.5}, 422, "tp 0.5 is on the wrong side"),
        ({"side": "sell", "sl": 0.5}, 422, "must be above"),
        ({"type": "limit"}, 422, "needs a price"),
        ({"price": 1.1}, 422, "market order takes no price"),
        ({"client_order_id": "has spaces"}, 422, "pattern"),
        ({"extra": 1}, 422, "Extra inputs"),
    ],
)
def test_bad_orders_get_clear_4xx(app_client, patch, status, needle):
    r = app_client.post("/api/v1/orders", json=order(**patch), headers=app_client.trader)
    assert r.status_code == status, r.text
    assert needle in r.text


def test_malformed_json_and_oversized_bodies(app_client):
    c = app_client
    r = c.post(
        "/api/v1/orders",
        content=b'{"symbol": "EURUSD",',
        headers=c.trader | {"Content-Type": "application/json"},
    )
    assert r.status_code == 422 and "JSON" in r.text
    r = c.post(
        "/api/v1/orders", content=b"x" * 20_000, headers=c.trader | {"Content-Type": "application/json"}
    )
    assert r.status_code == 413 and "larger than" in r.json()["detail"]


def test_position_limit_and_roles(app_client):
    c = app_client
    assert c.post("/api/v1/orders", json=order(), headers=c.viewer).status_code == 403
    assert c.post("/api/v1/orders", json=order()).status_code == 401
    assert c.post("/admin/reload", headers=c.trader).status_code == 403
    r = c.post("/api/v1/orders", json=order(volume=5.0, side="sell"), headers=c.trader)
    r2 = c.post("/api/v1/orders", json=order(volume=5.0, side="sell"), headers=c.trader)
    assert r.status_code == 201 and r2.status_code == 403 and "per-symbol limit" in r2.json()["detail"]


def test_limit_order_rests_and_can_be_cancelled(app_client):
    c = app_client
    r = c.post("/api/v1/orders", json=order(type="limit", price=0.5), headers=c.trader)
    assert r.status_code == 201 and r.json()["status"] == "placed"
    oid = r.json()["id"]
    assert c.get(f"/api/v1/orders/{oid}", headers=c.trader).json()["status"] == "placed"
    assert c.get(f"/api/v1/orders/{oid}", headers=c.viewer).status_code == 404  # not vic's order
    d = c.delete(f"/api/v1/orders/{oid}", headers=c.trader)
    assert d.status_code == 200 and d.json()["status"] == "cancelled"
    assert c.delete(f"/api/v1/orders/{oid}", headers=c.trader).status_code == 409


def test_kill_switch_answers_423_until_resumed(app_client):
    c = app_client
    placed = c.post("/api/v1/orders", json=order(type="limit", price=0.5), headers=c.trader).json()
    k = c.post("/admin/kill", json={"reason": "test halt"}, headers=ADMIN)
    assert k.status_code == 200 and any(str(placed["id"]) in a for a in k.json()["actions"])
    r = c.post("/api/v1/orders", json=order(), headers=c.trader)
    assert r.status_code == 423 and "kill switch" in r.json()["detail"]
    assert c.get(f"/api/v1/orders/{placed['id']}", headers=c.trader).json()["status"] == "cancelled"
    assert c.post("/admin/resume", headers=ADMIN).status_code == 200
    assert c.post("/api/v1/orders", json=order(), headers=c.trader).status_code == 201


def test_jwt_sessions(app_client):
    c = app_client
    assert (
        c.post(
            "/admin/users",
            json={"name": "ui", "role": "viewer", "password": "correct-horse-battery"},
            headers=ADMIN,
        ).status_code
        == 201
    )
    assert (
        c.post("/api/v1/auth/token", json={"username": "ui", "password": "wrong-password!"}).status_code
        == 401
    )
    tok = c.post("/api/v1/auth/token", json={"username": "ui", "password": "correct-horse-battery"}).json()
    bearer = {"Authorization": f"Bearer {tok['access_token']}"}
    assert c.get("/api/v1/account", headers=bearer).status_code == 200
    assert c.post("/api/v1/orders", json=order(), headers=bearer).status_code == 403  # viewer
    assert c.get("/api/v1/account", headers={"Authorization": "Bearer x.y.z"}).status_code == 401


def test_cors_allows_only_configured_origins(app_client):
    pre = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "X-API-Key"}
    ok = app_client.options("/api/v1/account", headers=pre | {"Origin": "https://desk.example"})
    bad = app_client.options("/api/v1/account", headers=pre | {"Origin": "https://evil.example"})
    assert ok.headers.get("access-control-allow-origin") == "https://desk.example"
    assert "access-control-allow-origin" not in bad.headers


def test_rate_limit_answers_429_with_retry_after(ledger_dir):
    with TestClient(create_app(settings_for(ledger_dir, rate_limit_per_s=0.5, rate_limit_burst=3))) as c:
        codes = [c.get("/api/v1/account", headers=ADMIN).status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200] and codes[3] == 429
        r = c.get("/api/v1/account", headers=ADMIN)
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1


def _sample(text: str, name: str) -> float:
    """The value of one sample line (name with labels) of a Prometheus exposition, else 0."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_orders_by_status_and_broker_round_trips(app_client):
    c = app_client
    before = c.get("/metrics").text
    filled = 'realtime_orders_total{status="filled"}'
    rejected = 'realtime_orders_total{status="rejected"}'
    trips = "realtime_broker_round_trip_seconds_count"
    assert c.post("/api/v1/orders", json=order(), headers=c.trader).status_code == 201
    assert c.post("/api/v1/orders", json=order(volume=6.0), headers=c.trader).status_code == 403
    after = c.get("/metrics").text
    assert _sample(after, filled) == _sample(before, filled) + 1
    assert _sample(after, rejected) == _sample(before, rejected) + 1
    assert _sample(after, trips) == _sample(before, trips) + 1  # the rejected one never left
    assert _sample(after, 'realtime_model_version{alias="champion",name="alphaforge-signal"}') == 1.0
