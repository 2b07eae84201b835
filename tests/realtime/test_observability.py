"""Structured logs: one JSON object per line, and no secret ever written, uvicorn's access log included."""

from __future__ import annotations

import json
import logging
import time

import httpx
import pytest
import uvicorn
from websockets.sync.client import connect as ws_connect

from realtime.main import create_app
from realtime.telemetry.logs import SecretMasker, mask
from tests.conftest import free_port
from tests.realtime.conftest import ADMIN_KEY, JWT_SECRET, settings_for
from tests.support.uvicorn_thread import uvicorn_in_thread


def test_mask_hides_credentials_in_any_shape():
    key = "af_0123456789ab_" + "S" * 43
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    cases = {
        "GET /ws/signals?api_key=plain-secret-value&x=1": "GET /ws/signals?api_key=***&x=1",
        "GET /ws/signals?token=abc.def.ghi": "GET /ws/signals?token=***",
        "X-API-Key: hdr-secret-value": "X-API-Key: ***",
        "{'x-api-key': 'hdr-secret-value'}": "{'x-api-key': '***'}",
        "Authorization: Bearer abc.def": "Authorization: Bearer ***",
        "Authorization: Basic dXNlcjpwYXNz": "Authorization: Basic ***",
        "sent bearer zzzzzzzz to the api": "sent bearer *** to the api",
        f"token issued: {jwt}": "token issued: ***",
        f"key {key} created": "key af_0123456789ab_*** created",
        '{"username": "u", "password": "hunter2hunter2"}': '{"username": "u", "password": "***"}',
        "postgresql+psycopg2://app:pw123@db:5432/x": "postgresql+psycopg2://app:***@db:5432/x",
        "configured secret my-own-secret-1234 here": "configured secret *** here",
    }
    for text, want in cases.items():
        assert mask(text, ["my-own-secret-1234"]) == want, text
    assert mask("missing or invalid API key or token") == "missing or invalid API key or token"


def test_masker_covers_arguments_extras_and_tracebacks():
    secret = "the-configured-admin-key-42"
    rec = logging.LogRecord("x", logging.ERROR, __file__, 1, "key %s in %r", (secret, {"k": secret}), None)
    rec.header = f"X-API-Key: {secret}"
    try:
        raise ValueError(f"bad key {secret}")
    except ValueError:
        import sys

        rec.exc_info = sys.exc_info()
    assert SecretMasker([secret]).filter(rec)
    text = logging.Formatter("%(message)s %(header)s").format(rec)
    assert secret not in text and "***" in text and "ValueError" in text


def test_logs_are_json_and_never_show_a_secret(ledger_dir, capsys):
    """A real uvicorn server (access log on, as deployed), requests carrying every kind of secret."""
    port = free_port()
    cfg = settings_for(ledger_dir)
    # As deployed (``uvicorn realtime.main:create_app --factory``): uvicorn sets up its loggers,
    # then builds the app.
    config = uvicorn.Config(
        lambda: create_app(cfg), factory=True, host="127.0.0.1", port=port, log_level="info", access_log=True
    )
    base = f"http://127.0.0.1:{port}"
    with uvicorn_in_thread(config):
        admin = {"X-API-Key": ADMIN_KEY}
        with httpx.Client(base_url=base, timeout=10) as http:
            user = {"name": "lena", "role": "viewer", "password": "pw-lena-0123456"}
            r = http.post("/admin/users", json=user, headers=admin)
            assert r.status_code == 201
            user_key = r.json()["api_key"]
            # A failed login, then a good one (whose JWT is another secret).
            r = http.post("/api/v1/auth/token", json={"username": "lena", "password": "wrong-password-99"})
            assert r.status_code == 401
            r = http.post("/api/v1/auth/token", json={"username": "lena", "password": "pw-lena-0123456"})
            jwt = r.json()["access_token"]
            assert http.get("/api/v1/signals/EURUSD", headers={"X-API-Key": user_key}).status_code == 200
            bearer = {"Authorization": f"Bearer {jwt}"}
            assert http.get("/api/v1/signals/EURUSD", headers=bearer).status_code == 200
            assert http.get(f"/api/v1/signals/EURUSD?api_key={ADMIN_KEY}").status_code == 401
        for query in (f"api_key={ADMIN_KEY}", f"api_key={user_key}", f"token={jwt}"):
            with ws_connect(f"ws://127.0.0.1:{port}/ws/signals?{query}", open_timeout=10):
                pass
        # Code that logs a secret by mistake is masked too.
        logging.getLogger("realtime.test").warning(
            "caller sent %s", f"Authorization: Bearer {jwt}", extra={"api_key": ADMIN_KEY}
        )
        time.sleep(0.2)
    out = capsys.readouterr()
    text = out.err + out.out
    lines = [line for line in text.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"ts", "level", "logger", "message"} <= r.keys() for r in records)
    for secret in (ADMIN_KEY, JWT_SECRET, user_key, jwt, "wrong-password-99", "pw-lena-0123456"):
        assert secret not in text
    access = [r for r in records if r["logger"] == "uvicorn.access"]
    assert any(r["path"] == "/api/v1/signals/EURUSD?api_key=***" and r["status"] == 401 for r in access)
    ws_lines = [r["message"] for r in records if "/ws/signals?" in r["message"]]
    assert any("api_key=***" in m for m in ws_lines) and any("token=***" in m for m in ws_lines)
    mistake = next(r for r in records if r["logger"] == "realtime.test")
    assert mistake["message"] == "caller sent Authorization: Bearer ***" and mistake["api_key"] == "***"


@pytest.fixture(autouse=True)
def _restore_logging():
    """These tests reconfigure logging globally; leave the root level as it was."""
    root = logging.getLogger()
    level = root.level
    yield
    root.setLevel(level)


def test_a_disabled_access_log_stays_off():
    """``uvicorn --no-access-log`` (as the benchmarks serve) must not be turned back on."""
    from realtime.telemetry.logs import configure_logging

    uvicorn.Config("realtime.main:create_app", factory=True, access_log=False, log_level="warning")
    configure_logging("INFO", [])
    assert not logging.getLogger("uvicorn.access").hasHandlers()
    uvicorn.Config("realtime.main:create_app", factory=True, access_log=True, log_level="info")
    configure_logging("INFO", [])
    access = logging.getLogger("uvicorn.access")
    assert access.hasHandlers() and not access.handlers and access.propagate  # through root's handler
