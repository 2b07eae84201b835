"""User governance: disable/enable, change role, reset password, rotate and revoke keys and
sessions, all effective at once and audited; the bootstrap key is retired when it changes."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from realtime.ledger import Ledger
from realtime.main import create_app
from tests.realtime.conftest import ADMIN_KEY, settings_for

ADMIN = {"X-API-Key": ADMIN_KEY}
PW = "correct horse battery"


def _user(c: TestClient, name: str, role: str = "trader") -> dict[str, str]:
    r = c.post("/admin/users", json={"name": name, "role": role, "password": PW}, headers=ADMIN)
    assert r.status_code == 201, r.text
    return {"X-API-Key": r.json()["api_key"]}


def _bearer(c: TestClient, name: str, password: str = PW) -> dict[str, str]:
    r = c.post("/api/v1/auth/token", json={"username": name, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _audit(c: TestClient) -> list[str]:
    led = c.app.state.svc.ledger
    with led.engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.text("SELECT action FROM af_audit_log ORDER BY id"))]


def test_an_existing_name_is_a_conflict_not_a_silent_key(ledger_dir):
    with TestClient(create_app(settings_for(ledger_dir))) as c:
        _user(c, "vera", "viewer")
        r = c.post("/admin/users", json={"name": "vera", "role": "admin"}, headers=ADMIN)
        assert r.status_code == 409 and "api_key" not in r.json()
        users = {u["name"]: u for u in c.get("/admin/users", headers=ADMIN).json()}
        assert users["vera"]["role"] == "viewer"
        # A new key for the existing user says the user's real role.
        r = c.post("/admin/users/vera/keys", json={}, headers=ADMIN)
        assert r.status_code == 201 and r.json()["role"] == "viewer"
        assert c.get("/api/v1/account", headers={"X-API-Key": r.json()["api_key"]}).status_code == 200


def test_disable_and_enable_a_user(ledger_dir):
    with TestClient(create_app(settings_for(ledger_dir))) as c:
        key = _user(c, "dan")
        token = _bearer(c, "dan")
        assert c.get("/api/v1/orders", headers=key).status_code == 200  # cached from here on
        r = c.patch("/admin/users/dan", json={"disabled": True}, headers=ADMIN)
        assert r.status_code == 200 and r.json()["disabled"] is True
        assert c.get("/api/v1/orders", headers=key).status_code == 401
        assert c.get("/api/v1/orders", headers=token).status_code == 401
        bad = c.post("/api/v1/auth/token", json={"username": "dan", "password": PW})
        assert bad.status_code == 401
        c.patch("/admin/users/dan", json={"disabled": False}, headers=ADMIN)
        assert c.get("/api/v1/orders", headers=key).status_code == 200
        assert c.get("/api/v1/orders", headers=token).status_code == 401  # sessions stay ended
        assert c.get("/api/v1/orders", headers=_bearer(c, "dan")).status_code == 200
        assert "user_updated" in _audit(c)


def test_a_role_change_applies_at_once_and_ends_sessions(ledger_dir):
    with TestClient(create_app(settings_for(ledger_dir))) as c:
        key = _user(c, "rob")
        token = _bearer(c, "rob")
        order = {"symbol": "EURUSD", "side": "buy", "volume": 0.01, "client_order_id": "g1"}
        assert c.post("/api/v1/orders", json=order, headers=key).status_code == 201
        assert c.patch("/admin/users/rob", json={"role": "viewer"}, headers=ADMIN).status_code == 200
        order["client_order_id"] = "g2"
        assert c.post("/api/v1/orders", json=order, headers=key).status_code == 403
        assert c.get("/api/v1/orders", headers=token).status_code == 401
        assert c.get("/api/v1/orders", headers=_bearer(c, "rob")).status_code == 200


def test_an_admin_cannot_lock_itself_out(ledger_dir):
    with TestClient(create_app(settings_for(ledger_dir))) as c:
        assert c.patch("/admin/users/admin", json={"disabled": True}, headers=ADMIN).status_code == 409
        assert c.patch("/admin/users/admin", json={"role": "viewer"}, headers=ADMIN).status_code == 409
        assert c.patch("/admin/users/nobody", json={"role": "viewer"}, headers=ADMIN).status_code == 404


def test_sessions_revoked_keys_kept_and_password_reset(ledger_dir):
    with TestClient(create_app(settings_for(ledger_dir))) as c:
        key = _user(c, "sam")
        token = _bearer(c, "sam")
        assert c.post("/admin/users/sam/sessions/revoke", headers=ADMIN).status_code == 200
        assert c.get("/api/v1/orders", headers=token).status_code == 401
        assert c.get("/api/v1/orders", headers=key).status_code == 200
        new_pw = "another long passphrase"
        assert c.patch("/admin/users/sam", json={"password": new_pw}, headers=ADMIN).status_code == 200
        assert c.post("/api/v1/auth/token", json={"username": "sam", "password": PW}).status_code == 401
        assert c.get("/api/v1/orders", headers=_bearer(c, "sam", new_pw)).status_code == 200
        assert "sessions_revoked" in _audit(c)


def test_rotating_a_users_key_revokes_the_others(ledger_dir):
    with TestClient(create_app(settings_for(ledger_dir))) as c:
        old = _user(c, "kim")
        assert c.get("/api/v1/orders", headers=old).status_code == 200
        r = c.post("/admin/users/kim/keys", json={"revoke_others": True}, headers=ADMIN)
        assert r.status_code == 201 and len(r.json()["revoked"]) == 1
        assert c.get("/api/v1/orders", headers=old).status_code == 401
        assert c.get("/api/v1/orders", headers={"X-API-Key": r.json()["api_key"]}).status_code == 200


def test_changing_the_bootstrap_key_revokes_the_old_one(ledger_dir):
    first = "first-operator-key-0123456789"
    second = "second-operator-key-0123456789"
    with TestClient(create_app(settings_for(ledger_dir, api_key=first))) as c:
        assert c.get("/admin/users", headers={"X-API-Key": first}).status_code == 200
    with TestClient(create_app(settings_for(ledger_dir, api_key=second))) as c:
        assert c.get("/admin/users", headers={"X-API-Key": second}).status_code == 200
        assert c.get("/admin/users", headers={"X-API-Key": first}).status_code == 401
        assert "bootstrap_key_rotated" in _audit(c)
    with TestClient(create_app(settings_for(ledger_dir, api_key=second))) as c:  # a plain restart
        assert c.get("/admin/users", headers={"X-API-Key": second}).status_code == 200


def test_unknown_users_cost_the_same_scrypt_as_wrong_passwords(ledger_dir, monkeypatch):
    import realtime.ledger.accounts as accounts

    calls: list[str] = []
    real = accounts.verify_secret
    monkeypatch.setattr(accounts, "verify_secret", lambda s, h: calls.append(s) or real(s, h))
    with TestClient(create_app(settings_for(ledger_dir))) as c:
        _user(c, "tim")
        for name in ("tim", "no-such-user"):
            calls.clear()
            r = c.post("/api/v1/auth/token", json={"username": name, "password": "wrong password!"})
            assert r.status_code == 401 and len(calls) == 1, name


def test_one_rate_limit_bucket_per_user_whatever_the_credential(ledger_dir):
    with TestClient(create_app(settings_for(ledger_dir, rate_limit_per_s=0.01, rate_limit_burst=4))) as c:
        key = _user(c, "una")
        token = _bearer(c, "una")
        codes = [c.get("/api/v1/orders", headers=h).status_code for h in (key, token) * 4]
        assert codes.count(200) == 4 and codes.count(429) == 4


def test_failed_keys_do_not_lock_out_a_valid_key_from_the_same_address(ledger_dir):
    with TestClient(create_app(settings_for(ledger_dir, bad_key_burst=3))) as c:
        a, b = _user(c, "ann"), _user(c, "ben")
        wrong = {"X-API-Key": a["X-API-Key"][:-2] + "zz"}
        codes = [c.get("/api/v1/orders", headers=wrong).status_code for _ in range(6)]
        assert codes.count(429) == 3
        assert c.get("/api/v1/orders", headers=b).status_code == 200  # never verified before


def test_a_ledger_from_before_governance_is_upgraded(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    eng = sa.create_engine(url)
    with eng.begin() as c:
        c.execute(
            sa.text(
                "CREATE TABLE af_users (id INTEGER PRIMARY KEY, name VARCHAR(64) NOT NULL UNIQUE, "
                "role VARCHAR(16) NOT NULL, password_hash VARCHAR(256), created_at DATETIME NOT NULL)"
            )
        )
        c.execute(sa.text("INSERT INTO af_users VALUES (1, 'old', 'trader', NULL, '2024-01-01 00:00:00')"))
    eng.dispose()
    led = Ledger(url)
    try:
        assert led.accounts.session_state(1) == ("trader", 0)
        assert led.accounts.update_user("old", disabled=True)["disabled"] is True
        assert led.accounts.session_state(1) is None
    finally:
        led.close()
