"""What the broker does or answers out of line reaches the ledger: sends without an answer,
fills racing the order path, sl/tp closes at the broker, and the periodic sync."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from realtime.brokers import mt5_constants as mc
from realtime.brokers.base import ExecReport, OrderIntent, Quote, SwapReport
from realtime.brokers.mt5 import MT5Broker
from realtime.brokers.paper import PaperBroker
from realtime.ledger import Ledger
from realtime.ledger.accounts import Principal
from realtime.ledger.trades import gross_pnl
from realtime.main import create_app
from realtime.schemas import OrderIn
from realtime.trading.fills import book_broker_close
from realtime.trading.orders import OrderService
from realtime.trading.reconcile import reconcile
from realtime.trading.risk import RiskLimits, RiskManager
from realtime.trading.sync import BrokerSync
from tests.realtime.conftest import ADMIN_KEY, make_user, settings_for
from tests.support.mt5sim import MT5TerminalSimulator, OrderSendResult

ADMIN = {"X-API-Key": ADMIN_KEY}
T0_MS = 1_709_726_400_000


def order(**kw):
    return {"symbol": "EURUSD", "side": "buy", "volume": 0.1, "client_order_id": uuid.uuid4().hex} | kw


def sample(text: str, name: str) -> float:
    """The value of one sample line of a Prometheus exposition, else 0."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def status_count(c: TestClient, status: str) -> float:
    return sample(c.get("/metrics").text, f'realtime_orders_total{{status="{status}"}}')


@pytest.fixture
def terminal():
    sim = MT5TerminalSimulator()
    sim.add_symbol("EURUSD")
    sim.push_tick("EURUSD", 1.10000, 1.10010, T0_MS)
    return sim


def mt5_app(ledger_dir, terminal, **kw) -> TestClient:
    return TestClient(create_app(settings_for(ledger_dir, broker="mt5", **kw), mt5_module=terminal))


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_cfg(request):
    """Settings overrides for a ledger on SQLite (the default) or in a throwaway PostgreSQL schema."""
    if request.param == "sqlite":
        yield {}
        return
    dsn = request.getfixturevalue("postgres_dsn")
    schema = f"rt_sync_{uuid.uuid4().hex[:10]}"
    yield {"ledger_url": dsn, "ledger_schema": schema}
    eng = sa.create_engine(dsn)
    with eng.begin() as c:
        c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    eng.dispose()


def answer(retcode: int, comment: str) -> OrderSendResult:
    """What a terminal answers to a send it did not execute."""
    return OrderSendResult(retcode, 0, 0, 0.0, 0.0, 1.1, 1.1001, comment, 0, 0, None)


def actions(led: Ledger, actor: str) -> list[str]:
    return [e["action"] for e in led.audit_entries() if e["actor"] == actor]


# 1. a send whose outcome is unknown is never "failed" ------------------------------------------
def test_a_send_without_answer_is_unknown_and_the_sync_books_the_terminals_fill(
    ledger_dir, terminal, ledger_cfg
):
    with mt5_app(ledger_dir, terminal, **ledger_cfg) as c:
        svc = c.app.state.svc
        unknown_before = status_count(c, "unknown")
        real = terminal.order_send
        terminal.order_send = lambda req: (real(req), None)[1]  # executed; the answer is lost
        r = c.post("/api/v1/orders", json=order(client_order_id="lost-1"), headers=ADMIN)
        terminal.order_send = real
        assert r.status_code == 503
        assert "unknown" in r.json()["detail"] and "reconciled" in r.json()["detail"]
        [o] = c.get("/api/v1/orders?status=unknown", headers=ADMIN).json()
        assert o["client_order_id"] == "lost-1"
        assert len(terminal.positions_get()) == 1 and svc.ledger.positions() == []
        assert status_count(c, "unknown") == unknown_before + 1
        # A retry returns the recorded order: it is not sent a second time.
        again = c.post("/api/v1/orders", json=order(client_order_id="lost-1"), headers=ADMIN)
        assert again.status_code == 200 and again.json()["status"] == "unknown"
        assert len(terminal.positions_get()) == 1
        filled_before = status_count(c, "filled")
        diffs = BrokerSync(svc.orders).run_once()
        assert [d["action"] for d in diffs] == ["order_fill_booked"]
        got = svc.ledger.get_order(o["id"])
        assert got.status == "filled" and got.fill_price == pytest.approx(1.10010)
        [pos] = svc.ledger.positions()
        assert pos.broker_position_id == str(terminal.positions_get()[0].ticket)
        assert actions(svc.ledger, "sync") == ["order_fill_booked"]
        assert status_count(c, "filled") == filled_before + 1
        assert BrokerSync(svc.orders).run_once() == []


def test_an_unknown_order_is_booked_at_restart(ledger_dir, terminal):
    with mt5_app(ledger_dir, terminal) as c:
        real = terminal.order_send
        terminal.order_send = lambda req: (real(req), None)[1]
        r = c.post("/api/v1/orders", json=order(client_order_id="lost-2"), headers=ADMIN)
        assert r.status_code == 503
        terminal.order_send = real
    with mt5_app(ledger_dir, terminal) as c:
        led = c.app.state.svc.ledger
        [o] = led.list_orders()
        assert o.status == "filled" and len(led.positions()) == 1
        assert "order_fill_booked" in actions(led, "reconcile")


def test_a_timeout_the_terminal_never_executed_fails_after_the_grace_period(ledger_dir, terminal):
    with mt5_app(ledger_dir, terminal) as c:
        svc = c.app.state.svc

        terminal.order_send = lambda req: answer(mc.TRADE_RETCODE_TIMEOUT, "Timeout")
        r = c.post("/api/v1/orders", json=order(), headers=ADMIN)
        assert r.status_code == 503 and "unknown" in r.json()["detail"]
        [o] = svc.ledger.list_orders(status=("unknown",))
        assert BrokerSync(svc.orders).run_once() == []  # may still execute: left open
        assert svc.ledger.get_order(o.id).status == "unknown"
        failed = status_count(c, "failed")
        diffs = BrokerSync(svc.orders, unknown_grace_s=0.0).run_once()
        assert diffs == [{"action": "order_failed", "order_id": o.id, "was": "unknown"}]
        assert svc.ledger.get_order(o.id).status == "failed"
        assert status_count(c, "failed") == failed + 1


def test_a_definite_rejection_at_send_stays_rejected(ledger_dir, terminal):
    with mt5_app(ledger_dir, terminal) as c:
        terminal.order_send = lambda req: answer(mc.TRADE_RETCODE_REJECT, "Rejected")
        r = c.post("/api/v1/orders", json=order(client_order_id="rej-1"), headers=ADMIN)
        assert r.status_code == 422 and "rejected by the server" in r.json()["detail"]
        assert c.get("/api/v1/orders?status=rejected", headers=ADMIN).json()[0]["client_order_id"] == "rej-1"


def test_an_unknown_limit_order_found_working_becomes_placed(ledger_dir, terminal):
    with mt5_app(ledger_dir, terminal) as c:
        svc = c.app.state.svc
        real = terminal.order_send
        terminal.order_send = lambda req: (real(req), None)[1]
        r = c.post("/api/v1/orders", json=order(type="limit", price=1.0950), headers=ADMIN)
        terminal.order_send = real
        assert r.status_code == 503
        [o] = svc.ledger.list_orders(status=("unknown",))
        [ticket] = terminal.orders_get()
        assert BrokerSync(svc.orders, unknown_grace_s=0.0).run_once()[0]["action"] == "order_placed_found"
        got = svc.ledger.get_order(o.id)
        assert got.status == "placed" and got.broker_order_id == str(ticket.ticket)


# 2. a resting limit's fill racing the order path -------------------------------------------------
class RacingPaper(PaperBroker):
    """The feed prices the book right after the broker accepted a resting limit order, before the
    order path has written "placed": on this thread (``wait`` None) or on another one."""

    def __init__(self, wait: float | None):
        super().__init__()
        self.wait, self.thread = wait, None
        self.book: Callable[[ExecReport | SwapReport], object] = lambda deal: None
        self.update_quote(Quote("EURUSD", 1.1000, 1.1002, dt.datetime.now(dt.UTC)))

    def feed(self, q: Quote) -> None:
        """What the desk does with a quote: price the broker, book the deals it returns."""
        for deal in self.update_quote(q):
            self.book(deal)

    def submit(self, intent: OrderIntent) -> ExecReport:
        report = super().submit(intent)
        if report.status == "placed":
            crossing = Quote("EURUSD", 1.0980, 1.0982, dt.datetime.now(dt.UTC))
            if self.wait is None:
                self.feed(crossing)
            else:
                self.thread = threading.Thread(target=self.feed, args=(crossing,))
                self.thread.start()
                self.thread.join(self.wait)  # the feed thread gets its chance to book first
        return report


@pytest.mark.parametrize("atomic", [False, True])
def test_a_fill_racing_the_placed_answer_is_never_lost_or_overwritten(tmp_path, atomic):
    led = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    broker = RacingPaper(wait=0.5 if atomic else None)
    svc = OrderService(led, broker, RiskManager(RiskLimits()), workers=None, atomic=atomic)
    broker.book = svc.apply_fill
    who = Principal(led.accounts.ensure_user("tina", "trader"), "tina", "trader", "key")
    o = OrderIn(symbol="EURUSD", side="buy", volume=0.1, type="limit", price=1.0990, client_order_id="race-1")
    got, created = svc.place(who, o)
    if broker.thread is not None:
        broker.thread.join(10)
        assert not broker.thread.is_alive()
    assert created and got.status in ("placed", "filled")
    final = led.get_order(got.id)
    assert final.status == "filled" and final.fill_price == pytest.approx(1.0982)
    [pos] = led.positions()
    assert pos.order_id == got.id and broker.positions()[0].broker_position_id == pos.broker_position_id


# 3. orders by status count every final transition ----------------------------------------------
def test_metrics_count_resting_fills_cancels_and_kill_switch_cancels(ledger_dir):
    with TestClient(create_app(settings_for(ledger_dir))) as c:
        svc, tr = c.app.state.svc, make_user(c, "tina", "trader")
        q = svc.broker.quote("EURUSD")
        filled, cancelled = status_count(c, "filled"), status_count(c, "cancelled")
        lim = c.post("/api/v1/orders", json=order(type="limit", price=round(q.ask - 0.002, 5)), headers=tr)
        gone = c.post("/api/v1/orders", json=order(type="limit", price=round(q.ask - 0.003, 5)), headers=tr)
        assert lim.json()["status"] == gone.json()["status"] == "placed"
        assert c.delete(f"/api/v1/orders/{gone.json()['id']}", headers=tr).status_code == 200
        svc.desk.on_quote(Quote("EURUSD", q.bid - 0.0025, q.ask - 0.0025, q.ts))  # crosses lim only
        assert c.get(f"/api/v1/orders/{lim.json()['id']}", headers=tr).json()["status"] == "filled"
        assert status_count(c, "filled") == filled + 1
        assert status_count(c, "cancelled") == cancelled + 1
        svc.desk.on_quote(q)
        c.post("/api/v1/orders", json=order(type="limit", price=round(q.ask - 0.004, 5)), headers=tr)
        k = c.post("/admin/kill", json={"reason": "metrics test"}, headers=ADMIN)
        assert k.status_code == 200 and any("cancelled order" in a for a in k.json()["actions"])
        assert status_count(c, "cancelled") == cancelled + 2


# 4a. paper: a quote through the sl or tp closes the position in the ledger ----------------------
@pytest.mark.parametrize("hit", ["sl", "tp"])
def test_paper_sl_or_tp_hit_closes_the_ledger_position_with_realised_pnl(ledger_dir, hit, ledger_cfg):
    cfg = settings_for(ledger_dir, slippage_pips=0.5, commission_per_lot=3.5, **ledger_cfg)
    with TestClient(create_app(cfg)) as c:
        svc, tr = c.app.state.svc, make_user(c, "tina", "trader")
        q = svc.broker.quote("EURUSD")
        body = order(volume=0.5, sl=round(q.bid - 0.001, 5), tp=round(q.ask + 0.001, 5))
        r = c.post("/api/v1/orders", json=body, headers=tr)
        assert r.status_code == 201
        [pos] = svc.ledger.positions()
        balance = svc.broker.account().balance
        svc.desk.on_quote(Quote("EURUSD", q.bid - 0.0005, q.ask - 0.0005, q.ts))  # inside: nothing happens
        assert svc.ledger.positions() == [pos]
        move = -0.0015 if hit == "sl" else 0.0015
        svc.desk.on_quote(Quote("EURUSD", q.bid + move, q.ask + move, q.ts))
        assert svc.ledger.positions() == [] and svc.broker.positions() == []
        closed = svc.ledger.get_position(pos.id)
        # A long exits at the bid; a stop slips 0.5 pip like a market order, a take-profit does not.
        exit_px = q.bid + move - (0.00005 if hit == "sl" else 0.0)
        assert closed.status == "closed" and closed.close_price == pytest.approx(exit_px)
        pnl = gross_pnl("EURUSD", "buy", 0.5, pos.open_price, exit_px)
        assert closed.realized_pnl == pytest.approx(pnl)
        assert (pnl < 0) == (hit == "sl")
        assert svc.broker.account().balance == pytest.approx(balance + pnl - 3.5 * 0.5)
        [entry] = svc.ledger.audit_entries("position_closed_at_broker")
        assert entry["detail"]["reason"] == hit and entry["detail"]["position_id"] == pos.id
        closing = svc.ledger.get_order(entry["detail"]["order_id"])
        assert closing.status == "filled" and closing.position_id == pos.id and closing.side == "sell"
        today = svc.ledger.trades.daily_pnl(dt.datetime.now(dt.UTC).date())
        assert today == pytest.approx(pnl - 2 * 3.5 * 0.5)


# 4b. MT5: what the terminal does on its own is booked by the sync --------------------------------
def test_mt5_sl_hit_at_the_terminal_is_booked_by_the_sync_at_the_deal_price(ledger_dir, terminal, ledger_cfg):
    with mt5_app(ledger_dir, terminal, **ledger_cfg) as c:
        svc = c.app.state.svc
        r = c.post("/api/v1/orders", json=order(volume=0.2, sl=1.0990, tp=1.1050), headers=ADMIN)
        assert r.status_code == 201
        [pos] = svc.ledger.positions()
        terminal.push_tick("EURUSD", 1.09880, 1.09890, T0_MS + 1000)  # through the stop
        assert terminal.positions_get() == ()
        [deal] = [d for d in terminal.history_deals_get(position=int(pos.broker_position_id)) if d.entry == 1]
        assert deal.reason == 4 and deal.comment.startswith("[sl")  # DEAL_REASON_SL
        assert svc.ledger.positions() == [pos]  # the ledger has not heard yet
        diffs = BrokerSync(svc.orders).run_once()
        assert [d["action"] for d in diffs] == ["position_closed_at_broker"]
        closed = svc.ledger.get_position(pos.id)
        assert closed.status == "closed" and closed.close_price == pytest.approx(1.09880)
        assert closed.realized_pnl == pytest.approx(gross_pnl("EURUSD", "buy", 0.2, 1.10010, 1.09880))
        assert closed.realized_pnl == pytest.approx(deal.profit)
        assert svc.ledger.audit_entries("position_closed_at_broker")[0]["detail"]["reason"] == "sl"
        assert BrokerSync(svc.orders).run_once() == []  # booked once


def test_mt5_limit_filled_at_the_terminal_is_booked_by_the_sync(ledger_dir, terminal):
    with mt5_app(ledger_dir, terminal) as c:
        svc = c.app.state.svc
        r = c.post("/api/v1/orders", json=order(type="limit", price=1.0990), headers=ADMIN)
        assert r.json()["status"] == "placed"
        terminal.push_tick("EURUSD", 1.09870, 1.09880, T0_MS + 1000)
        assert terminal.orders_get() == () and len(terminal.positions_get()) == 1
        assert BrokerSync(svc.orders).run_once()[0]["action"] == "order_fill_booked"
        got = svc.ledger.get_order(r.json()["id"])
        assert got.status == "filled" and got.fill_price == pytest.approx(1.0990)
        [pos] = svc.ledger.positions()
        assert pos.broker_position_id == str(terminal.positions_get()[0].ticket)
        assert BrokerSync(svc.orders).run_once() == []


def test_the_periodic_sync_runs_in_the_background(ledger_dir, terminal):
    cfg = settings_for(ledger_dir, broker="mt5", broker_sync_s=0.05)
    with TestClient(create_app(cfg, mt5_module=terminal)) as c:
        led = c.app.state.svc.ledger
        assert c.post("/api/v1/orders", json=order(sl=1.0990), headers=ADMIN).status_code == 201
        terminal.push_tick("EURUSD", 1.09880, 1.09890, T0_MS + 1000)
        deadline = time.monotonic() + 10
        while led.positions() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert led.positions() == [] and led.audit_entries("position_closed_at_broker")


# 6. reconcile reports what it must not fix silently ----------------------------------------------
def test_reconcile_reports_volume_mismatch_and_unknown_broker_positions(tmp_path, terminal):
    terminal.initialize()
    broker = MT5Broker(terminal)
    led = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    uid = led.accounts.ensure_user("tina", "trader")
    o, _ = led.create_order(uid, "m-1", symbol="EURUSD", side="buy", type="market", volume=0.3)
    fill = broker.submit(OrderIntent(o.id, "EURUSD", "buy", "market", 0.3))
    led.trades.record_fill(o, fill.price, 0.2, 1.0, dt.datetime.now(dt.UTC), fill.broker_deal_id,
                           fill.broker_position_id, fill.broker_order_id)  # booked 0.2 of 0.3 lots
    stray = broker.submit(OrderIntent(999, "EURUSD", "sell", "market", 0.1))  # not in the ledger
    diffs = reconcile(led, broker)
    [pos] = led.positions()
    mismatch = {"action": "position_volume_mismatch", "position_id": pos.id, "ledger": 0.2, "broker": 0.3}
    assert mismatch in diffs
    [unknown] = [d for d in diffs if d["action"] == "unknown_broker_position"]
    assert unknown["broker_position_id"] == stray.broker_position_id and unknown["volume"] == 0.1
    assert led.positions() == [pos] and pos.volume == 0.2  # reported, never adopted or resized
    assert {"position_volume_mismatch", "unknown_broker_position"} <= set(actions(led, "reconcile"))


def test_a_broker_close_is_booked_once_with_its_pnl_and_exposure(ledger_dir, ledger_cfg):
    url = ledger_cfg.get("ledger_url", f"sqlite:///{ledger_dir / 'ledger.db'}")
    led = Ledger(url, ledger_cfg.get("ledger_schema"))
    uid = led.accounts.ensure_user("tina", "trader")
    o, _ = led.create_order(uid, "o-1", symbol="EURUSD", side="sell", type="market", volume=0.4)
    pid = led.trades.record_fill(o, 1.1000, 0.4, 1.4, dt.datetime.now(dt.UTC), "d1", "77", "77")
    assert led.risk_totals("EURUSD", dt.datetime.now(dt.UTC).date())[:2] == (-0.4, 0.4)
    report = ExecReport("filled", "78", 1.1020, 0.4, 1.4, "d2", "77", reason="sl")
    closing = book_broker_close(led, report)
    assert closing.position_id == pid and closing.side == "buy" and closing.status == "filled"
    assert led.get_order(closing.id).fill_price == 1.1020
    assert book_broker_close(led, report) is None  # the same deal again: nothing more
    pos = led.get_position(pid)
    assert pos.status == "closed" and pos.realized_pnl == pytest.approx(-80.0)
    net, gross, day = led.risk_totals("EURUSD", dt.datetime.now(dt.UTC).date())
    assert (net, gross) == (0.0, 0.0) and day == pytest.approx(-80.0 - 2.8)
    assert len(led.audit_entries("position_closed_at_broker")) == 1
    # Conditional status moves never overwrite a state reached meanwhile.
    assert not led.set_order_status(o.id, "placed", only_from=("pending", "sent"))
    assert led.get_order(o.id).status == "filled"
    led.close()
