"""The swap an MT5 server charges reaches the ledger once, over the real RPyC bridge.

A classic RPyC server hosts the terminal simulator as MetaTrader5; the service (REALTIME_BROKER
mt5, REALTIME_MT5_BRIDGE) holds a position across simulated rollovers, closes it in two parts
and restarts; the swap is booked once, in the day's realised P&L (/account, the daily-loss
check), and a large negative swap stops the next order at the daily-loss limit.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from realtime.brokers.base import OrderIntent
from realtime.brokers.mt5 import MT5Broker
from realtime.ledger import tables as t
from realtime.ledger.rows import PositionRow
from realtime.ledger.store import Ledger
from realtime.main import create_app
from realtime.trading.broker_swap import broker_total
from realtime.trading.sync import BrokerSync
from tests.realtime.conftest import ADMIN_KEY, settings_for
from tests.support.mt5_bridge_server import BridgeServer
from tests.support.mt5sim import MT5TerminalSimulator

ADMIN = {"X-API-Key": ADMIN_KEY}
START = 100_000.0


def wait_for(check: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def quote(sim: MT5TerminalSimulator, symbol: str, bid: float, spread: float = 0.0001) -> None:
    sim.push_tick(symbol, bid, round(bid + spread, 5), int(time.time() * 1000))


def make_terminal(currency: str = "USD") -> MT5TerminalSimulator:
    sim = MT5TerminalSimulator(balance=START, fee_per_deal=0.25, currency=currency)
    sim.add_symbol("EURUSD", swap_long=-7.0, swap_short=2.0)  # per lot and night, deposit currency
    quote(sim, "EURUSD", 1.10000)
    return sim


@pytest.fixture
def bridge() -> Iterator[tuple[MT5TerminalSimulator, BridgeServer]]:
    sim = make_terminal()
    server = BridgeServer(sim).start()
    yield sim, server
    server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_kw(request: pytest.FixtureRequest) -> dict[str, object]:
    if request.param == "sqlite":
        return {}
    return {
        "ledger_url": request.getfixturevalue("postgres_dsn"),
        "ledger_schema": request.getfixturevalue("pg_schema"),
    }


def app(ledger_dir: Path, server: BridgeServer, **kw: object) -> TestClient:
    cfg = settings_for(
        ledger_dir, **({"broker": "mt5", "mt5_bridge": server.address, "broker_sync_s": 0.1} | kw)
    )
    return TestClient(create_app(cfg))


def buy(c: TestClient, cid: str, volume: float) -> dict:
    r = c.post("/api/v1/orders", json={"symbol": "EURUSD", "side": "buy", "volume": volume,
                                       "client_order_id": cid}, headers=ADMIN)  # fmt: skip
    assert r.status_code in (201, 403), r.text
    return r.json()


def close(c: TestClient, position_id: int, volume: float | None = None) -> None:
    r = c.post(f"/api/v1/positions/{position_id}/close", json={"volume": volume} if volume else {},
               headers=ADMIN)  # fmt: skip
    assert r.status_code in (200, 201) and r.json()["status"] == "filled", r.text


def swap_rows(led: Ledger) -> list[tuple[float, float | None]]:
    s = t.swaps.c
    with led.engine.connect() as c:
        rows: sa.Result[float, float | None] = c.execute(sa.select(s.amount, s.broker_amount).order_by(s.id))
        return [(a, b) for a, b in rows]


def booked(led: Ledger) -> float:
    return sum(a for a, _ in swap_rows(led))


def day_pnl(c: TestClient) -> float:
    return float(c.get("/api/v1/account", headers=ADMIN).json()["daily_pnl"])


def loss_figure(c: TestClient) -> float:
    """What the daily-loss check compares with the limit: today's realised P&L from the ledger
    plus the unrealised part of the broker's equity, read now."""
    svc = c.app.state.svc
    svc.risk.read_equity()
    realised = svc.ledger.risk_totals("EURUSD", dt.datetime.now(dt.UTC).date())[2]
    return float(realised + svc.risk.unrealised_pnl)


def test_swap_held_across_rollovers_is_booked_once_through_syncs_closes_and_restarts(
    ledger_dir, bridge, ledger_kw
):
    sim, server = bridge
    with app(ledger_dir, server, **ledger_kw) as c:
        svc = c.app.state.svc
        assert buy(c, "long", 1.0)["status"] == "filled"
        [pos] = svc.ledger.positions()
        fees = day_pnl(c)
        assert fees == pytest.approx(-(3.5 + 0.25))  # commission and fee, no swap yet
        assert swap_rows(svc.ledger) == []

        sim.rollover(nights=1)  # the server charges the open position: -7 a lot a night
        wait_for(lambda: booked(svc.ledger) != 0.0)  # the periodic sync saw it
        assert swap_rows(svc.ledger) == [(pytest.approx(-7.0), pytest.approx(-7.0))]
        assert day_pnl(c) == pytest.approx(fees - 7.0)
        # Booked as realised, the swap is no longer unrealised too: the figure counts it once.
        assert loss_figure(c) == pytest.approx(sim.account_info().equity - START)
        for _ in range(3):  # more passes find nothing new
            assert BrokerSync(svc.orders).run_once() == []
        assert len(swap_rows(svc.ledger)) == 1

        close(c, pos.id, 0.4)  # the closing deal realises 0.4 of the swap, the rest stays open
        sim.rollover(nights=3)  # a Wednesday: three nights on the 0.6 lots left
        wait_for(lambda: booked(svc.ledger) < -7.0)
        assert booked(svc.ledger) == pytest.approx(-7.0 - 0.6 * 7.0 * 3)
        assert len(swap_rows(svc.ledger)) == 2

    with app(ledger_dir, server, **ledger_kw) as c:  # a restart books nothing again
        svc = c.app.state.svc
        assert len(swap_rows(svc.ledger)) == 2
        close(c, pos.id)  # the close realises the open swap, already booked
        wait_for(lambda: not svc.ledger.positions())
        for _ in range(2):
            BrokerSync(svc.orders).run_once()
        total = -7.0 - 0.6 * 7.0 * 3
        assert booked(svc.ledger) == pytest.approx(total) and len(swap_rows(svc.ledger)) == 2
        deals = sim.history_deals_get(position=int(pos.broker_position_id or 0))
        assert sum(d.swap for d in deals) == pytest.approx(total)  # what the server charged
        # Flat, the day's figure is the terminal's equity change: prices, fees and swap.
        assert day_pnl(c) == pytest.approx(sim.account_info().equity - START)
        assert loss_figure(c) == pytest.approx(sim.account_info().equity - START)

    with app(ledger_dir, server, **ledger_kw) as c:  # the closed position's swap is not redone
        assert len(swap_rows(c.app.state.svc.ledger)) == 2


def test_a_swap_realised_while_the_service_was_down_is_booked_at_restart(ledger_dir, bridge):
    sim, server = bridge
    with app(ledger_dir, server, broker_sync_s=0.0) as c:  # no periodic sync: only start-up
        assert buy(c, "long", 0.5)["status"] == "filled"
        [pos] = c.app.state.svc.ledger.positions()
    sim.rollover(nights=1)
    ticket = int(pos.broker_position_id or 0)  # closed at the terminal by hand meanwhile
    sim.order_send({"action": 1, "symbol": "EURUSD", "volume": 0.5, "type": 1, "position": ticket,
                    "type_filling": 0})  # fmt: skip
    with app(ledger_dir, server, broker_sync_s=0.0) as c:
        led = c.app.state.svc.ledger
        assert not led.positions()
        assert swap_rows(led) == [(pytest.approx(-3.5), pytest.approx(-3.5))]
        assert day_pnl(c) == pytest.approx(sim.account_info().equity - START)


def test_a_negative_swap_that_passes_the_daily_loss_limit_stops_the_next_order(ledger_dir, bridge):
    sim, server = bridge
    with app(ledger_dir, server, max_daily_loss=30.0) as c:
        svc = c.app.state.svc
        assert buy(c, "long", 1.0)["status"] == "filled"
        [pos] = svc.ledger.positions()
        sim.rollover(nights=3)  # -21 on the lot
        wait_for(lambda: booked(svc.ledger) != 0.0)
        close(c, pos.id)
        wait_for(lambda: not svc.ledger.positions())
        # Without the swap the day lost 17.50 (spread 10, fees 7.50); with it 38.50.
        assert day_pnl(c) == pytest.approx(-38.5)
        refused = buy(c, "next", 0.01)  # the limit is 30: the swap took the day past it
        assert "daily loss 38.50" in refused["detail"] and "30.00 limit" in refused["detail"]


def test_swap_in_another_deposit_currency_is_converted_once_at_the_terminals_rate(ledger_dir):
    sim = make_terminal(currency="EUR")  # a EUR deposit; the service's account is in USD
    server = BridgeServer(sim).start()
    try:
        with app(ledger_dir, server, broker_sync_s=0.0, account_currency="USD") as c:
            svc = c.app.state.svc
            assert buy(c, "long", 1.0)["status"] == "filled"
            sim.rollover(nights=1)  # -7 EUR
            assert [d["action"] for d in BrokerSync(svc.orders).run_once()] == ["swap_booked"]
            assert swap_rows(svc.ledger) == [(pytest.approx(-7.0 * 1.10005), pytest.approx(-7.0))]
            quote(sim, "EURUSD", 1.20000)  # the rate moves: what is booked stays booked
            assert BrokerSync(svc.orders).run_once() == []
            sim.rollover(nights=1)
            BrokerSync(svc.orders).run_once()
            assert [a for a, _ in swap_rows(svc.ledger)] == [
                pytest.approx(-7.0 * 1.10005),
                pytest.approx(-7.0 * 1.20005),
            ]
    finally:
        server.stop()


def test_a_close_made_after_the_positions_were_read_is_not_counted_twice():
    """A sync pass reads the broker's open positions, then the history: a close landing between
    the two is in the history but not in the positions read, so the pass must wait, not add
    the swap that close realised to the open swap it still sees."""
    sim = MT5TerminalSimulator(balance=50_000)
    sim.add_symbol("EURUSD", swap_long=-7.0, swap_short=2.0)
    sim.push_tick("EURUSD", 1.10000, 1.10010, 1_709_726_400_000)
    sim.initialize()
    broker = MT5Broker(sim)
    broker.submit(OrderIntent(1, "EURUSD", "buy", "market", 1.0))
    [pos] = broker.positions()
    bpid = pos.broker_position_id
    sim.rollover(nights=1)
    broker.submit(OrderIntent(2, "EURUSD", "sell", "market", 0.4, close_position=bpid))
    sim.rollover(nights=3)
    [held] = broker.positions()  # what the pass read: 0.6 lots still open
    now = dt.datetime.now(dt.UTC)
    row = PositionRow(7, "EURUSD", "buy", 0.6, 1.1001, None, None, bpid, 1, "open", now, None, None,
                      realized_pnl=0.0)  # reduced once, as the ledger booked it
    charged = sum(d.swap for d in sim.history_deals_get(position=int(bpid))) + held.swap
    assert charged == pytest.approx(-7.0 - 0.6 * 7.0 * 3)  # 1 lot a night, then 0.6 lots three nights
    assert broker_total(broker, row, held) == pytest.approx(charged)  # all settled: the whole swap
    broker.submit(OrderIntent(3, "EURUSD", "sell", "market", 0.6, close_position=bpid))
    assert broker_total(broker, row, held) is None  # the history moved past ``held``: next pass
    closed = replace(row, status="closed", volume=0.0)
    assert broker_total(broker, closed, None) == pytest.approx(charged)  # settled: counted once
