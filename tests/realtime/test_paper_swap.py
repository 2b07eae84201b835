"""The paper broker charges overnight swap as the backtest does, and the ledger books it once."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from marketdata.instruments import get_instrument
from ml.costs import CostModel
from realtime.brokers.base import ExecReport, OrderIntent, Quote, SwapReport
from realtime.brokers.paper import PaperBroker
from realtime.ledger import Ledger
from realtime.main import create_app
from realtime.services import Services
from realtime.trading.fills import book_fill, book_swap
from tests.realtime.conftest import ADMIN_KEY, settings_for

ADMIN = {"X-API-Key": ADMIN_KEY}
EUR = get_instrument("EURUSD")
TUE = dt.datetime(2025, 1, 7, tzinfo=dt.UTC)  # a Tuesday, after the fixture's warm-up bars


def nightly(side: str, volume: float) -> float:
    """One night's swap of ``volume`` lots of EURUSD from the catalogue's swap points (<0: a cost)."""
    points = EUR.swap_long if side == "buy" else EUR.swap_short
    return volume * EUR.contract_size * points * EUR.pip_size


def svc(c: TestClient) -> Services:
    app: FastAPI = c.app  # type: ignore[assignment]
    services: Services = app.state.svc
    return services


def at(c: TestClient, ts: dt.datetime, bid: float = 1.1000) -> None:
    svc(c).desk.on_quote(Quote("EURUSD", bid, bid + 0.0001, ts))


def buy(c: TestClient, side: str = "buy", volume: float = 0.1) -> None:
    body = {"symbol": "EURUSD", "side": side, "volume": volume, "client_order_id": uuid.uuid4().hex}
    assert c.post("/api/v1/orders", json=body, headers=ADMIN).json()["status"] == "filled"


def balance(c: TestClient) -> float:
    return float(c.get("/api/v1/account", headers=ADMIN).json()["balance"])


def day_pnl(c: TestClient, day: dt.date) -> float:
    return float(svc(c).ledger.trades.daily_pnl(day))


@pytest.mark.parametrize(
    ("start", "end", "nights"),
    [
        (TUE.replace(hour=21), TUE.replace(hour=22, minute=30), 1),  # Tuesday 22:00
        (TUE.replace(day=8, hour=21), TUE.replace(day=8, hour=23), 3),  # Wednesday: triple
        (TUE.replace(day=11, hour=21), TUE.replace(day=11, hour=23), 0),  # Saturday: none
        (TUE.replace(day=10, hour=21), TUE.replace(day=13, hour=21), 1),  # Fri 22:00 only, to Monday
        (TUE.replace(hour=21), TUE.replace(hour=21, minute=59), 0),  # before the rollover
        # July: New York's 17:00 is 21:00 UTC under daylight time
        (dt.datetime(2025, 7, 8, 20, 30, tzinfo=dt.UTC), dt.datetime(2025, 7, 8, 21, 30, tzinfo=dt.UTC), 1),
        (dt.datetime(2025, 7, 9, 20, 30, tzinfo=dt.UTC), dt.datetime(2025, 7, 9, 21, 0, tzinfo=dt.UTC), 3),
        (dt.datetime(2025, 7, 8, 21, 30, tzinfo=dt.UTC), dt.datetime(2025, 7, 8, 22, 30, tzinfo=dt.UTC), 0),
    ],
)
def test_paper_broker_charges_each_rollover_by_weekday_and_side(
    start: dt.datetime, end: dt.datetime, nights: int
) -> None:
    broker = PaperBroker(balance=10_000.0)
    seen: list[object] = [*broker.update_quote(Quote("EURUSD", 1.1, 1.1, start))]
    broker.submit(OrderIntent(1, "EURUSD", "buy", "market", 0.1))
    broker.submit(OrderIntent(2, "EURUSD", "sell", "market", 0.2))
    seen += broker.update_quote(Quote("EURUSD", 1.1, 1.1, end))
    expected = nights * (nightly("buy", 0.1) + nightly("sell", 0.2))
    assert broker.balance == pytest.approx(10_000.0 + expected)
    swaps = [r for r in seen if isinstance(r, SwapReport)]
    assert sum(r.amount for r in swaps) == pytest.approx(expected)
    assert {(r.side, r.weight) for r in swaps} == ({("buy", nights), ("sell", nights)} if nights else set())
    # The backtest's switch turns it off here too.
    off = PaperBroker(CostModel(apply_swap=False), balance=10_000.0)
    off.update_quote(Quote("EURUSD", 1.1, 1.1, start))
    off.submit(OrderIntent(1, "EURUSD", "buy", "market", 0.1))
    off.update_quote(Quote("EURUSD", 1.1, 1.1, end))
    assert off.balance == 10_000.0


def test_swap_reaches_the_account_and_the_days_pnl(ledger_dir: Path) -> None:
    # Today's rollover (quote times may be ahead of the clock), so the account's daily P&L shows it.
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    nights = [1, 1, 3, 1, 1, 0, 0][today.weekday()]
    # today's 17:00 New York rollover: 22:00 UTC in winter, 21:00 UTC in summer
    rollover = today.replace(hour=17, tzinfo=ZoneInfo("America/New_York")).astimezone(dt.UTC)
    with TestClient(create_app(settings_for(ledger_dir))) as c:
        at(c, rollover - dt.timedelta(hours=1))
        buy(c, "buy", 0.1)
        buy(c, "sell", 0.2)
        before = c.get("/api/v1/account", headers=ADMIN).json()
        at(c, rollover + dt.timedelta(minutes=30))
        after = c.get("/api/v1/account", headers=ADMIN).json()
    expected = nights * (nightly("buy", 0.1) + nightly("sell", 0.2))
    assert after["balance"] == pytest.approx(before["balance"] + expected)
    assert after["daily_pnl"] == pytest.approx(before["daily_pnl"] + expected)


def test_swap_is_booked_once_per_rollover_and_survives_a_restart(ledger_dir: Path) -> None:
    cfg = settings_for(ledger_dir)
    with TestClient(create_app(cfg)) as c:
        at(c, TUE.replace(hour=21))
        buy(c)
        opened = balance(c)
        at(c, TUE.replace(hour=22, minute=30))
        # Repeated and out-of-order quotes around the same rollover charge nothing more.
        for ts in (TUE.replace(hour=21, minute=30), TUE.replace(hour=22, minute=30), TUE.replace(hour=23)):
            at(c, ts)
        assert balance(c) == pytest.approx(opened + nightly("buy", 0.1))
        assert day_pnl(c, TUE.date()) == pytest.approx(nightly("buy", 0.1))
        # The same report twice (a retried callback) is booked once.
        [pos] = svc(c).ledger.positions()
        again = SwapReport(pos.broker_position_id or "", "EURUSD", "buy", 0.1, TUE.replace(hour=22), 1, -0.5)
        assert svc(c).orders.apply_fill(again) is False
        assert day_pnl(c, TUE.date()) == pytest.approx(nightly("buy", 0.1))
        before = balance(c)
    with TestClient(create_app(cfg)) as c:
        at(c, TUE.replace(hour=23, minute=30))  # no rollover since the last one charged
        assert balance(c) == pytest.approx(before)
        at(c, TUE.replace(day=8, hour=22, minute=30))  # Wednesday's triple, only that
        assert balance(c) == pytest.approx(before + 3 * nightly("buy", 0.1))
        assert day_pnl(c, TUE.date() + dt.timedelta(days=1)) == pytest.approx(3 * nightly("buy", 0.1))
        wednesday = balance(c)
        # The running totals rebuilt from fills and swaps agree with the ones kept as it went.
        ledger = svc(c).ledger
        lifetime = ledger.lifetime_pnl()
        ledger.rebuild_totals()
        assert ledger.lifetime_pnl() == pytest.approx(lifetime)
        assert cfg.paper_balance + lifetime == pytest.approx(wednesday)
    with TestClient(create_app(cfg)) as c:
        at(c, TUE.replace(day=8, hour=23))
        assert balance(c) == pytest.approx(wednesday)


def test_the_ledger_books_a_swap_once_on_the_rollovers_day(ledger: Ledger) -> None:
    order, _ = ledger.create_order(1, "o1", symbol="EURUSD", side="sell", type="market", volume=0.2)
    opened = TUE.replace(hour=21)
    book_fill(ledger, order, ExecReport("filled", "7", 1.1, 0.2, 0.0, "d1", "7", ts=opened, ref=order.id))
    rollover = TUE.replace(day=8, hour=22)
    report = SwapReport("7", "EURUSD", "sell", 0.2, rollover, 3, 3 * nightly("sell", 0.2))
    assert book_swap(ledger, report) is True
    assert book_swap(ledger, report) is False  # the same position and rollover: booked once
    assert ledger.trades.daily_pnl(rollover.date()) == pytest.approx(3 * nightly("sell", 0.2))
    assert ledger.trades.daily_pnl(TUE.date()) == 0.0
    assert ledger.lifetime_pnl() == pytest.approx(3 * nightly("sell", 0.2))
    [pos] = ledger.positions()
    assert ledger.swaps_through() == {pos.id: rollover}
    ledger.rebuild_totals()  # the totals recomputed from fills and swaps agree
    assert ledger.trades.daily_pnl(rollover.date()) == pytest.approx(3 * nightly("sell", 0.2))


def test_the_paper_swap_setting_reaches_the_broker(ledger_dir: Path) -> None:
    for on in (True, False):
        with TestClient(create_app(settings_for(ledger_dir, paper_swap=on))) as c:
            broker = c.app.state.svc.broker
            assert isinstance(broker, PaperBroker) and broker.costs.apply_swap is on
