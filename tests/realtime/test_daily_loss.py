"""The daily-loss limit counts open (unrealised) losses, read with the drawdown watch's account
read; closing stays allowed (audit: a 1,000 USD open loss passed a 500 USD limit)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from fastapi.testclient import TestClient

from realtime.brokers.base import AccountState, Quote
from realtime.errors import RiskRejectedError
from realtime.main import create_app
from realtime.trading.risk import RiskLimits, RiskManager
from tests.realtime.conftest import ADMIN_KEY, settings_for

ADMIN = {"X-API-Key": ADMIN_KEY}


def _order(**kw: object) -> dict[str, object]:
    return {"symbol": "EURUSD", "side": "buy", "volume": 1.0, "client_order_id": uuid.uuid4().hex} | kw


def test_an_open_loss_stops_new_orders_but_not_closing(ledger_dir):
    cfg = settings_for(ledger_dir, max_daily_loss=500.0, max_drawdown=0.5, equity_check_s=0.0)
    with TestClient(create_app(cfg)) as c:
        svc = c.app.state.svc
        q = svc.broker.quote("EURUSD")
        first = c.post("/api/v1/orders", json=_order(), headers=ADMIN)
        assert first.status_code in (200, 201), first.text
        svc.desk.on_quote(Quote("EURUSD", q.bid - 0.01, q.ask - 0.01, q.ts))  # ~ -1,000 USD on 1 lot
        acct = c.get("/api/v1/account", headers=ADMIN).json()
        assert acct["equity"] - acct["balance"] < -500.0
        r = c.post("/api/v1/orders", json=_order(volume=5.0), headers=ADMIN)
        assert r.status_code == 403, r.text
        assert "daily loss" in r.json()["detail"] and "unrealised" in r.json()["detail"]
        pos = next(p for p in svc.ledger.positions() if p.order_id == first.json()["id"])
        assert c.post(f"/api/v1/positions/{pos.id}/close", headers=ADMIN).status_code == 200


def test_a_small_open_loss_does_not_stop_orders(ledger_dir):
    cfg = settings_for(ledger_dir, max_daily_loss=500.0, max_drawdown=0.5, equity_check_s=0.0)
    with TestClient(create_app(cfg)) as c:
        svc = c.app.state.svc
        q = svc.broker.quote("EURUSD")
        assert c.post("/api/v1/orders", json=_order(), headers=ADMIN).status_code in (200, 201)
        svc.desk.on_quote(Quote("EURUSD", q.bid - 0.001, q.ask - 0.001, q.ts))  # ~ -100 USD
        r = c.post("/api/v1/orders", json=_order(), headers=ADMIN)
        assert r.status_code in (200, 201), r.text


def test_the_watch_read_keeps_the_unrealised_pnl_without_an_extra_read():
    reads: list[int] = []

    def account() -> AccountState:
        reads.append(1)
        return AccountState(balance=10_000.0, equity=9_000.0, margin=0.0)

    rm = RiskManager(RiskLimits(max_daily_loss=500.0, max_drawdown=0.5), equity=account, watch_every_s=3600.0)
    assert rm.watch(on_quote=True) is False and len(reads) == 1
    assert rm.unrealised_pnl == -1_000.0
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(RiskRejectedError, match="daily loss"):
        rm.check("EURUSD", "buy", 1.0, (0.0, 0.0), 0.0, Quote("EURUSD", 1.1, 1.1001, now), now)
    assert len(reads) == 1  # the order reused the watch's read (within watch_every_s)
    rm.check("EURUSD", "sell", 1.0, (1.0, 1.0), 0.0, None, now, closing=True)
