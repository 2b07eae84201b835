"""Pre-trade risk through the running app (paper broker, real ledger) and RiskManager's logic.

The drawdown kill switch is watched on quotes and before orders, persisted in the ledger so it
survives a restart, and only an admin releases it; the limits answer 403, the switch 423.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from realtime.brokers.base import Quote
from realtime.errors import KillSwitchError, RiskRejectedError
from realtime.main import create_app
from realtime.services import Services
from realtime.trading.risk import RiskLimits, RiskManager, in_trading_hours
from tests.realtime.conftest import ADMIN_KEY, settings_for

ADMIN = {"X-API-Key": ADMIN_KEY}
NOON = dt.datetime(2024, 3, 6, 12, tzinfo=dt.UTC)


def order(**kw: object) -> dict[str, object]:
    return {"symbol": "EURUSD", "side": "buy", "volume": 0.1, "client_order_id": uuid.uuid4().hex} | kw


def serve(data_dir: Path, **kw: object) -> TestClient:
    return TestClient(create_app(settings_for(data_dir, **kw)))


def svc_of(c: TestClient) -> Services:
    return c.app.state.svc  # type: ignore[attr-defined]


def fresh_quote(svc: Services, shift: float = 0.0, age_s: float = 0.0) -> Quote:
    """Push a quote ``shift`` away from the current one, stamped ``age_s`` seconds ago."""
    q = svc.broker.quote("EURUSD")
    assert q is not None
    new = Quote("EURUSD", q.bid + shift, q.ask + shift, dt.datetime.now(dt.UTC) - dt.timedelta(seconds=age_s))
    svc.desk.on_quote(new)
    return new


def status_of(c: TestClient, order_id: int) -> str:
    return str(c.get(f"/api/v1/orders/{order_id}", headers=ADMIN).json()["status"])


# -- the drawdown kill switch ---------------------------------------------------------------


def test_drawdown_kill_fires_from_quotes_alone_and_survives_a_restart(ledger_dir: Path) -> None:
    cfg = {"max_drawdown": 0.005, "flatten_on_kill": True, "equity_check_s": 0.0}
    with serve(ledger_dir, **cfg) as c:
        svc = svc_of(c)
        assert svc.risk.peak_equity == pytest.approx(100_000.0)  # seeded at start-up
        fresh_quote(svc)
        working = c.post("/api/v1/orders", json=order(type="limit", price=0.5), headers=ADMIN).json()
        assert working["status"] == "placed"
        assert c.post("/api/v1/orders", json=order(volume=5.0), headers=ADMIN).status_code == 201
        fresh_quote(svc, shift=-0.002)  # -1,000 USD on 5 lots: 1%, over the 0.5% limit
        # No /account call, no order: the quote alone engaged the switch and ran its actions.
        assert svc.risk.killed_reason is not None and "drawdown" in svc.risk.killed_reason
        assert status_of(c, working["id"]) == "cancelled"
        assert svc.ledger.positions() == []  # flattened
        fresh_quote(svc, shift=-0.002)  # further drops do not run the actions again
        r = c.post("/api/v1/orders", json=order(), headers=ADMIN)
        assert r.status_code == 423 and "drawdown" in r.json()["detail"]
        assert len(svc.ledger.audit_entries("kill_switch")) == 1
        assert len(svc.ledger.audit_entries("kill_switch_engaged")) == 1
    with serve(ledger_dir, **cfg) as c:  # a restart on the same ledger stays halted
        assert c.post("/api/v1/orders", json=order(), headers=ADMIN).status_code == 423
        assert "drawdown" in c.get("/api/v1/account", headers=ADMIN).json()["trading_halted"]


def test_kill_switch_does_not_cancel_or_flatten_unless_configured(ledger_dir: Path) -> None:
    with serve(ledger_dir, max_drawdown=0.005, equity_check_s=0.0) as c:
        svc = svc_of(c)
        fresh_quote(svc)
        working = c.post("/api/v1/orders", json=order(type="limit", price=0.5), headers=ADMIN).json()
        assert c.post("/api/v1/orders", json=order(volume=5.0), headers=ADMIN).status_code == 201
        fresh_quote(svc, shift=-0.002)
        assert status_of(c, working["id"]) == "cancelled"  # pending orders always go
        assert len(svc.ledger.positions()) == 1  # flatten_on_kill is off by default


def test_a_throttled_watch_still_stops_the_next_order(ledger_dir: Path) -> None:
    # A quote inside the watch interval is not looked at, but the next order reads the equity
    # regardless: it is refused, and the actions run once its own transaction is over.
    cfg = {"max_drawdown": 0.005, "flatten_on_kill": True, "equity_check_s": 3600.0}
    with serve(ledger_dir, **cfg) as c:
        svc = svc_of(c)
        fresh_quote(svc)
        working = c.post("/api/v1/orders", json=order(type="limit", price=0.5), headers=ADMIN).json()
        assert c.post("/api/v1/orders", json=order(volume=5.0), headers=ADMIN).status_code == 201
        fresh_quote(svc, shift=-0.002)
        assert svc.risk.killed_reason is None  # skipped: within the interval
        r = c.post("/api/v1/orders", json=order(), headers=ADMIN)
        assert r.status_code == 423 and "drawdown" in r.json()["detail"]
        assert svc.desk.kill_actions is not None
        svc.desk.kill_actions.join(30)
        assert status_of(c, working["id"]) == "cancelled"
        assert svc.ledger.positions() == []
        assert len(svc.ledger.audit_entries("kill_switch")) == 1
        assert c.post("/api/v1/orders", json=order(), headers=ADMIN).status_code == 423


def test_manual_kill_survives_restarts_until_an_admin_resumes(ledger_dir: Path) -> None:
    with serve(ledger_dir) as c:
        fresh_quote(svc_of(c))
        assert c.post("/admin/kill", json={"reason": "desk halt"}, headers=ADMIN).status_code == 200
    with serve(ledger_dir) as c:
        fresh_quote(svc_of(c))
        r = c.post("/api/v1/orders", json=order(), headers=ADMIN)
        assert r.status_code == 423 and "desk halt (by admin)" in r.json()["detail"]
        assert c.post("/admin/resume", headers=ADMIN).status_code == 200
        assert c.post("/api/v1/orders", json=order(), headers=ADMIN).status_code == 201
        actions = [e["action"] for e in svc_of(c).ledger.audit_entries()]
        mine = [a for a in actions if a.startswith("kill_switch")]
        assert mine == ["kill_switch_engaged", "kill_switch", "kill_switch_reset"]
    with serve(ledger_dir) as c:  # the release is persisted too
        fresh_quote(svc_of(c))
        assert svc_of(c).risk.killed_reason is None
        assert c.post("/api/v1/orders", json=order(), headers=ADMIN).status_code == 201


def test_kill_switch_survives_a_restart_on_postgres(ledger_dir: Path, postgres_dsn: str) -> None:
    schema = f"rt_risk_{uuid.uuid4().hex[:10]}"
    pg = {"ledger_url": postgres_dsn, "ledger_schema": schema}
    try:
        with serve(ledger_dir, **pg) as c:
            fresh_quote(svc_of(c))
            assert c.post("/admin/kill", json={"reason": "pg halt"}, headers=ADMIN).status_code == 200
        with serve(ledger_dir, **pg) as c:
            fresh_quote(svc_of(c))
            assert c.post("/api/v1/orders", json=order(), headers=ADMIN).status_code == 423
            assert c.post("/admin/resume", headers=ADMIN).status_code == 200
            assert c.post("/api/v1/orders", json=order(), headers=ADMIN).status_code == 201
    finally:
        eng = sa.create_engine(postgres_dsn)
        with eng.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        eng.dispose()


# -- limits through the app -----------------------------------------------------------------


@pytest.fixture
def limited(ledger_dir: Path) -> Iterator[TestClient]:
    """An app with small limits and a fresh quote."""
    cfg = {"max_order_lots": 1.0, "max_position_lots": 1.0, "max_total_exposure_lots": 1.5}
    with serve(ledger_dir, **cfg, max_daily_loss=20.0, max_quote_age_s=30.0) as c:
        fresh_quote(svc_of(c))
        yield c


def test_max_order_size(limited: TestClient) -> None:
    r = limited.post("/api/v1/orders", json=order(volume=1.01), headers=ADMIN)
    assert r.status_code == 403 and "exceeds max order size 1.0" in r.json()["detail"]
    assert limited.post("/api/v1/orders", json=order(volume=1.0), headers=ADMIN).status_code == 201


def test_max_position_per_symbol_counts_the_net(limited: TestClient) -> None:
    c = limited
    assert c.post("/api/v1/orders", json=order(volume=0.8), headers=ADMIN).status_code == 201
    r = c.post("/api/v1/orders", json=order(volume=0.3), headers=ADMIN)
    assert r.status_code == 403 and "per-symbol limit" in r.json()["detail"]
    # a sell reduces the net EURUSD position, so it passes this limit
    assert c.post("/api/v1/orders", json=order(side="sell", volume=0.3), headers=ADMIN).status_code == 201


def test_max_total_exposure_counts_the_gross(limited: TestClient) -> None:
    c = limited
    assert c.post("/api/v1/orders", json=order(volume=0.8), headers=ADMIN).status_code == 201
    assert c.post("/api/v1/orders", json=order(side="sell", volume=0.6), headers=ADMIN).status_code == 201
    r = c.post("/api/v1/orders", json=order(side="sell", volume=0.2), headers=ADMIN)  # net 0.0, gross 1.6
    assert r.status_code == 403 and "total exposure would be 1.60" in r.json()["detail"]


def test_max_daily_loss_stops_opening_but_not_closing(limited: TestClient) -> None:
    c = limited
    svc = svc_of(c)
    first = c.post("/api/v1/orders", json=order(volume=1.0), headers=ADMIN).json()
    second = c.post("/api/v1/orders", json=order(side="sell", volume=0.5), headers=ADMIN).json()
    assert first["status"] == second["status"] == "filled"
    fresh_quote(svc, shift=-0.001)  # -100 USD on the 1-lot buy once it is closed
    pos = next(p for p in svc.ledger.positions() if p.order_id == first["id"])
    assert c.post(f"/api/v1/positions/{pos.id}/close", headers=ADMIN).status_code == 200
    r = c.post("/api/v1/orders", json=order(), headers=ADMIN)
    assert r.status_code == 403 and "daily loss" in r.json()["detail"]
    other = svc.ledger.positions()[0]
    assert c.post(f"/api/v1/positions/{other.id}/close", headers=ADMIN).status_code == 200


def test_stale_prices_are_refused(limited: TestClient) -> None:
    c = limited
    svc = svc_of(c)
    assert c.post("/api/v1/orders", json=order(), headers=ADMIN).status_code == 201
    fresh_quote(svc, age_s=60.0)
    r = c.post("/api/v1/orders", json=order(), headers=ADMIN)
    assert r.status_code == 403 and "stale price for EURUSD" in r.json()["detail"]
    fresh_quote(svc)
    assert c.post("/api/v1/orders", json=order(), headers=ADMIN).status_code == 201


def test_startup_quote_from_stored_history_is_stale(limited: TestClient) -> None:
    c = limited
    svc = svc_of(c)
    bar = {"ts": "2024-03-06 23:58+00:00", "bid_close": 1.08, "ask_close": 1.0801}
    svc.desk.quote_from_bar("EURUSD", bar)
    r = c.post("/api/v1/orders", json=order(), headers=ADMIN)
    assert r.status_code == 403 and "stale price" in r.json()["detail"]


def _window(hour: int, contains: bool, wrapped: bool) -> tuple[int, int]:
    """A [start, end) window (wrapping midnight or not) that holds, or misses, this hour and
    the next: an order sent across the hour boundary sees the same answer."""
    hours = {hour, (hour + 1) % 24}
    for start in range(24):
        for end in range(1, 25):
            if start == end or (start > end) != wrapped:
                continue
            if all(in_trading_hours(h, (start, end)) == contains for h in hours):
                return start, end
    raise AssertionError("no such window")


@pytest.mark.parametrize("wrapped", [True, False])
def test_trading_hours_through_the_app(ledger_dir: Path, wrapped: bool) -> None:
    hour = dt.datetime.now(dt.UTC).hour
    open_ = _window(hour, True, wrapped)
    with serve(ledger_dir, trading_hours_utc=open_) as c:
        fresh_quote(svc_of(c))
        assert c.post("/api/v1/orders", json=order(), headers=ADMIN).status_code == 201
    if wrapped and hour in (0, 22, 23):
        return  # a wrapped window holds 23:00-01:00 always; the closed case is the unwrapped one
    closed = _window(hour, False, wrapped)
    with serve(ledger_dir, trading_hours_utc=closed) as c:
        fresh_quote(svc_of(c))
        r = c.post("/api/v1/orders", json=order(), headers=ADMIN)
        assert r.status_code == 403 and "outside trading hours" in r.json()["detail"]


# -- RiskManager directly ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("window", "inside", "outside"),
    [
        ((22, 6), [22, 23, 0, 3, 5], [6, 12, 21]),
        ((0, 24), list(range(24)), []),
        ((9, 17), [9, 16], [8, 17, 23, 0]),
        ((23, 1), [23, 0], [1, 22]),
        ((1, 24), [1, 23], [0]),
    ],
)
def test_trading_hours_windows(window: tuple[int, int], inside: list[int], outside: list[int]) -> None:
    rm = RiskManager(RiskLimits(trading_hours_utc=window))
    for h in inside:
        assert in_trading_hours(h, window)
        rm.check("EURUSD", "buy", 0.1, (0, 0), 0.0, Quote("EURUSD", 1.0, 1.0001, NOON), NOON.replace(hour=h))
    for h in outside:
        assert not in_trading_hours(h, window)
        with pytest.raises(RiskRejectedError, match=f"outside trading hours {window[0]:02d}:00"):
            rm.check("EURUSD", "buy", 0.1, (0, 0), 0.0, None, NOON.replace(hour=h))


def test_kill_switch_fires_once_and_reset_restarts_the_peak() -> None:
    rm = RiskManager(RiskLimits(max_drawdown=0.1))
    assert not rm.observe_equity(100.0)
    assert not rm.observe_equity(120.0)  # new peak
    assert not rm.observe_equity(108.1)  # 9.9% down
    assert rm.observe_equity(107.9)  # 10.1% down
    assert not rm.observe_equity(50.0)  # already engaged: fires once
    q = Quote("EURUSD", 1.0, 1.0001, NOON)
    with pytest.raises(KillSwitchError, match=r"drawdown 10\.1% from peak equity 120\.00"):
        rm.check("EURUSD", "buy", 0.1, (0, 0), 0.0, q, NOON)
    rm.check("EURUSD", "sell", 0.1, (0, 0), 0.0, q, NOON, closing=True)  # closing always passes
    rm.reset(50.0)
    assert rm.killed_reason is None and rm.peak_equity == 50.0
    assert not rm.observe_equity(46.0) and rm.observe_equity(44.9)


def test_concurrent_observers_fire_the_switch_exactly_once() -> None:
    rm = RiskManager(RiskLimits(max_drawdown=0.1))
    rm.observe_equity(100.0)
    fired, gate = [], threading.Barrier(16)

    def observe() -> None:
        gate.wait()
        fired.append(rm.observe_equity(80.0))

    threads = [threading.Thread(target=observe) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fired.count(True) == 1


def test_watch_throttles_quotes_but_an_order_after_a_skipped_quote_reads() -> None:
    equity, reads, killed = [100.0], [], []  # type: list[float], list[float], list[str]

    def read() -> float:
        reads.append(equity[0])
        return equity[0]

    rm = RiskManager(RiskLimits(max_drawdown=0.1), equity=read, watch_every_s=3600.0)
    q = Quote("EURUSD", 1.0, 1.0001, NOON)
    assert not rm.watch(on_quote=True) and len(reads) == 1  # first read is due
    rm.check("EURUSD", "buy", 0.1, (0, 0), 0.0, q, NOON)  # nothing skipped: no read
    equity[0] = 80.0
    assert not rm.watch(on_quote=True) and len(reads) == 1  # skipped within the interval
    with pytest.raises(KillSwitchError) as err:
        rm.check("EURUSD", "buy", 0.1, (0, 0), 0.0, q, NOON)
    if err.value.engaged_now:  # this check engaged the switch: its actions are the caller's
        killed.append(rm.killed_reason or "")
    assert len(reads) == 2 and len(killed) == 1 and "drawdown 20.0%" in killed[0]


def test_watch_reads_every_time_without_an_interval_and_tolerates_no_equity() -> None:
    reads: list[int] = []

    def unreadable() -> float | None:  # the broker cannot say (MT5 terminal down)
        reads.append(1)
        return None

    rm = RiskManager(RiskLimits(), equity=unreadable, watch_every_s=0.0)
    for _ in range(3):
        assert not rm.watch(on_quote=True)
    rm.check("EURUSD", "buy", 0.1, (0, 0), 0.0, Quote("EURUSD", 1.0, 1.0001, NOON), NOON)
    assert len(reads) == 4 and rm.killed_reason is None and rm.peak_equity is None


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"volume": 2.0}, "max order size"),
        ({"exposure": (0.5, 0.5), "volume": 0.6}, "per-symbol limit"),
        ({"exposure": (-0.5, 2.5), "volume": 0.6}, "total exposure would be 3.10"),
        ({"daily_pnl": -10.0}, "daily loss 10.00"),
        ({"quote": None}, "no price for EURUSD"),
        ({"quote": Quote("EURUSD", 1.0, 1.0001, NOON - dt.timedelta(seconds=6))}, "stale price"),
    ],
)
def test_each_limit_refuses_with_a_clear_message(kw: dict[str, object], needle: str) -> None:
    rm = RiskManager(RiskLimits(1.0, 1.0, 3.0, 10.0, 0.2, (0, 24), 5.0))
    args: dict[str, object] = {
        "symbol": "EURUSD",
        "side": "buy",
        "volume": 0.1,
        "exposure": (0.0, 0.0),
        "daily_pnl": 0.0,
        "quote": Quote("EURUSD", 1.0, 1.0001, NOON - dt.timedelta(seconds=4)),
        "now": NOON,
    }
    rm.check(**args)  # type: ignore[arg-type]
    with pytest.raises(RiskRejectedError, match=needle):
        rm.check(**(args | kw))  # type: ignore[arg-type]
