"""Auth hardening: key revocation takes effect at once (HTTP and open WebSockets), expired
sessions close their sockets, and password / API-key guessing is rate limited (429)."""

from __future__ import annotations

import time

import jwt
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from realtime.errors import RateLimitedError
from realtime.ledger.keys import key_id_of
from realtime.main import create_app
from tests.realtime.conftest import ADMIN_KEY, make_user, settings_for

ADMIN = {"X-API-Key": ADMIN_KEY}
PASSWORD = "correct horse battery"


def _close_code(ws, svc) -> int:
    """Push a signal at the socket and return the close code it gets instead of the message
    (the push makes a socket that stayed open fail here instead of blocking forever)."""
    svc.hub.publish("signal", {"symbol": "EURUSD", "probe": True})
    with pytest.raises(WebSocketDisconnect) as exc:
        ws.receive_text()
    return exc.value.code


def test_a_revoked_key_is_refused_at_once(client):
    headers = make_user(client, "kim", "trader")
    assert client.get("/api/v1/account", headers=headers).status_code == 200  # now cached
    key_id = key_id_of(headers["X-API-Key"])
    assert client.post(f"/admin/keys/{key_id}/revoke", headers=headers).status_code == 403
    r = client.post(f"/admin/keys/{key_id}/revoke", headers=ADMIN)
    assert r.status_code == 200 and r.json() == {"key_id": key_id, "revoked": True}
    assert client.get("/api/v1/account", headers=headers).status_code == 401
    assert client.post(f"/admin/keys/{key_id}/revoke", headers=ADMIN).status_code == 404
    assert client.post("/admin/keys/nosuchkey/revoke", headers=ADMIN).status_code == 404


def test_created_users_show_their_key_id(client):
    r = client.post("/admin/users", json={"name": "ann", "role": "viewer"}, headers=ADMIN)
    assert r.json()["key_id"] == key_id_of(r.json()["api_key"])


def test_an_open_websocket_closes_when_its_key_is_revoked(ledger_dir):
    with TestClient(create_app(settings_for(ledger_dir, ws_auth_check_s=0.1))) as c:
        svc = c.app.state.svc
        headers = make_user(c, "wes", "viewer")
        with c.websocket_connect("/ws/signals", headers=headers) as ws:
            svc.hub.publish("signal", {"symbol": "EURUSD", "n": 1})
            assert '"n": 1' in ws.receive_text()  # live before the revocation
            key_id = key_id_of(headers["X-API-Key"])
            assert c.post(f"/admin/keys/{key_id}/revoke", headers=ADMIN).status_code == 200
            time.sleep(0.4)  # past the socket's next check
            assert _close_code(ws, svc) == 1008


def test_an_open_websocket_closes_when_its_token_expires(ledger_dir):
    # a few seconds of life: on a loaded machine the connect alone can take over a second
    cfg = settings_for(ledger_dir, ws_auth_check_s=0.1, jwt_ttl_s=4)
    with TestClient(create_app(cfg)) as c:
        svc = c.app.state.svc
        user = {"name": "tia", "role": "viewer", "password": PASSWORD}
        r = c.post("/admin/users", json=user, headers=ADMIN)
        assert r.status_code == 201
        login = {"username": "tia", "password": PASSWORD}
        token = c.post("/api/v1/auth/token", json=login).json()["access_token"]
        with c.websocket_connect(f"/ws/signals?token={token}") as ws:
            svc.hub.publish("signal", {"symbol": "EURUSD", "n": 1})
            assert '"n": 1' in ws.receive_text()
            exp = jwt.decode(token, options={"verify_signature": False})["exp"]
            time.sleep(max(0.0, exp - time.time()) + 1.2)  # exp has passed (pyjwt allows no leeway)
            assert _close_code(ws, svc) == 1008


def test_password_guessing_is_limited_per_username_and_per_address(ledger_dir):
    cfg = settings_for(ledger_dir, login_burst=5, login_rate_per_min=0.5)
    with TestClient(create_app(cfg)) as c:
        c.post("/admin/users", json={"name": "tom", "role": "trader", "password": PASSWORD}, headers=ADMIN)
        codes = [
            c.post("/api/v1/auth/token", json={"username": "tom", "password": f"wrong{i}"}).status_code
            for i in range(15)
        ]
        assert codes[:5] == [401] * 5 and codes[5:] == [429] * 10
        r = c.post("/api/v1/auth/token", json={"username": "tom", "password": PASSWORD})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1  # even the right one waits
        # Another address is limited on its own, but the username stays limited there too.
        other = TestClient(c.app, client=("10.0.0.2", 5000))
        right = {"username": "tom", "password": PASSWORD}
        assert other.post("/api/v1/auth/token", json=right).status_code == 429
        codes = [
            other.post("/api/v1/auth/token", json={"username": f"u{i}", "password": "x"}).status_code
            for i in range(7)
        ]
        assert codes[:4] == [401] * 4 and codes[4:] == [429] * 3  # one attempt went on "tom" above


def test_wrong_api_keys_are_limited_per_address_and_stop_costing_scrypt(ledger_dir):
    cfg = settings_for(ledger_dir, bad_key_burst=5, bad_key_rate_per_min=0.5)
    with TestClient(create_app(cfg)) as c:
        svc = c.app.state.svc
        good = make_user(c, "ken", "trader")
        assert c.get("/api/v1/account", headers=good).status_code == 200  # verified: cached
        verify, calls = svc.ledger.accounts.principal_for_key, []

        def counting(k: str):
            calls.append(k)
            return verify(k)

        svc.ledger.accounts.principal_for_key = counting  # the real verification, counted
        wrong = {"X-API-Key": good["X-API-Key"][:-2] + "zz"}  # a real key id, a wrong secret: scrypt
        codes = [c.get("/api/v1/account", headers=wrong).status_code for _ in range(12)]
        assert codes[:5] == [401] * 5 and codes[5:] == [429] * 7
        assert len(calls) == 5  # the refused ones cost no scrypt
        assert "Retry-After" in c.get("/api/v1/account", headers=wrong).headers
        ws_connect = c.websocket_connect
        with pytest.raises(WebSocketDisconnect) as exc, ws_connect("/ws/signals", headers=wrong) as ws:
            ws.receive_text()
        assert exc.value.code == 1008
        # A key verified before is cached (no scrypt to limit); other addresses are not limited.
        assert c.get("/api/v1/account", headers=good).status_code == 200
        other = TestClient(c.app, client=("10.0.0.3", 5000))
        assert other.get("/api/v1/account", headers=wrong).status_code == 401


def test_login_limits_also_hold_when_called_directly(ledger_dir):
    with TestClient(create_app(settings_for(ledger_dir, login_burst=2))) as c:
        auth = c.app.state.svc.auth
        for ip in ("1.1.1.1", "2.2.2.2"):
            assert auth.from_password("nobody", "x", ip) is None
        with pytest.raises(RateLimitedError):
            auth.from_password("nobody", "x", "3.3.3.3")  # per username, whatever the address
