"""The service on the MT5 broker (simulated terminal): broker down, and a restart mid-order."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from realtime.brokers.mt5 import MT5Broker
from realtime.ledger import Ledger
from realtime.main import create_app
from realtime.trading.reconcile import reconcile
from tests.realtime.conftest import ADMIN_KEY, settings_for
from tests.support.mt5sim import MT5TerminalSimulator

ADMIN = {"X-API-Key": ADMIN_KEY}
ORDER = {"symbol": "EURUSD", "side": "buy", "volume": 0.1}


@pytest.fixture
def terminal():
    sim = MT5TerminalSimulator()
    sim.add_symbol("EURUSD")
    sim.push_tick("EURUSD", 1.10000, 1.10010, 1_709_726_400_000)
    return sim


def test_broker_down_is_503_and_the_order_is_recorded_failed(ledger_dir, terminal):
    with TestClient(create_app(settings_for(ledger_dir, broker="mt5"), mt5_module=terminal)) as c:
        ok = c.post("/api/v1/orders", json=ORDER | {"client_order_id": "up-1"}, headers=ADMIN)
        assert ok.status_code == 201 and ok.json()["broker_order_id"]
        terminal.shutdown()  # the terminal drops its connection
        r = c.post("/api/v1/orders", json=ORDER | {"client_order_id": "down-1"}, headers=ADMIN)
        assert r.status_code == 503 and "unreachable" in r.json()["detail"]
        ready = c.get("/ready")
        assert ready.status_code == 503 and ready.json()["checks"]["broker"] is False
        failed = c.get("/api/v1/orders?status=failed", headers=ADMIN).json()
        assert [o["client_order_id"] for o in failed] == ["down-1"]
        # The retry returns the recorded failure instead of sending a second order.
        again = c.post("/api/v1/orders", json=ORDER | {"client_order_id": "down-1"}, headers=ADMIN)
        assert again.status_code == 200 and again.json()["status"] == "failed"


def open_pos_ids(led: Ledger) -> set[str | None]:
    return {p.broker_position_id for p in led.positions()}


def test_restart_in_the_middle_of_an_order_is_reconciled(ledger_dir, terminal):
    url = f"sqlite:///{ledger_dir / 'ledger.db'}"
    terminal.initialize()
    broker = MT5Broker(terminal)
    led = Ledger(url)
    uid = led.accounts.ensure_user("tina", "trader")
    # Crash after order_send: the terminal filled it but the ledger never booked the fill.
    sent, _ = led.create_order(uid, "mid-1", symbol="EURUSD", side="buy", type="market", volume=0.2)
    led.set_order_status(sent.id, "sent")
    from realtime.brokers.base import OrderIntent

    filled = broker.submit(OrderIntent(sent.id, "EURUSD", "buy", "market", 0.2))
    # Crash before order_send: written, never sent.
    lost, _ = led.create_order(uid, "mid-2", symbol="EURUSD", side="sell", type="market", volume=0.1)
    # A position the ledger thinks is open but the terminal closed (e.g. stop-loss hit offline).
    gone, _ = led.create_order(uid, "old-1", symbol="EURUSD", side="buy", type="market", volume=0.1)
    import datetime as dt

    led.trades.record_fill(gone, 1.09, 0.1, 0.35, dt.datetime.now(dt.UTC), "d0", "999999")
    led.close()
    with TestClient(create_app(settings_for(ledger_dir, broker="mt5"), mt5_module=terminal)) as c:
        orders = {o["client_order_id"]: o["status"] for o in c.get("/api/v1/orders", headers=ADMIN).json()}
        assert orders == {"mid-1": "filled", "mid-2": "failed", "old-1": "filled"}  # admin sees all
        led = c.app.state.svc.ledger
        assert led.get_order(sent.id).status == "filled" and led.get_order(
            sent.id
        ).fill_price == pytest.approx(1.1001)
        # Booked with the terminal's own ids, so the ledger row can be matched to MT5's history.
        assert led.get_order(sent.id).broker_order_id == filled.broker_order_id
        assert open_pos_ids(led) == {filled.broker_position_id}
        assert led.get_order(lost.id).status == "failed"
        open_pos = led.positions()
        assert [p.order_id for p in open_pos] == [sent.id]
        actions = [e["action"] for e in led.audit_entries() if e["actor"] == "reconcile"]
        assert {"order_fill_booked", "order_failed", "position_closed_missing"} <= set(actions)
    # A second restart finds nothing new to fix.
    led = Ledger(url)
    assert reconcile(led, MT5Broker(terminal)) == []
