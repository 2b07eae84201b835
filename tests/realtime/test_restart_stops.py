"""Positions closed at the broker by sl/tp across restarts: after each restart the ledger equals
the broker (open positions, balance), and no close is dropped because a deal id was reused."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from realtime.brokers.base import Quote
from realtime.main import create_app
from tests.realtime.conftest import ADMIN_KEY, settings_for

ADMIN = {"X-API-Key": ADMIN_KEY}


def _quote(c: TestClient, bid: float) -> None:
    c.app.state.svc.desk.on_quote(Quote("EURUSD", bid, bid + 0.0001, dt.datetime.now(dt.UTC)))


def _order(**kw: object) -> dict[str, object]:
    return {"symbol": "EURUSD", "side": "buy", "volume": 0.1, "client_order_id": uuid.uuid4().hex} | kw


def _assert_ledger_equals_broker(c: TestClient) -> None:
    svc = c.app.state.svc
    ledger_open = {
        (p["symbol"], p["side"], round(p["volume"], 8))
        for p in c.get("/api/v1/positions", headers=ADMIN).json()
    }
    broker_open = {(p.symbol, p.side, round(p.volume, 8)) for p in svc.broker.positions()}
    assert ledger_open == broker_open
    account = c.get("/api/v1/account", headers=ADMIN).json()
    assert account["balance"] == pytest.approx(svc.broker.account().balance, abs=1e-6)


def test_sl_and_tp_closes_across_restarts_keep_the_ledger_equal_to_the_broker(ledger_dir: Path) -> None:
    rounds = 3
    cfg = settings_for(ledger_dir)
    closed_total = 0
    for r in range(rounds):
        with TestClient(create_app(cfg)) as c:
            _quote(c, 1.1000)
            _assert_ledger_equals_broker(c)
            # One position left open for the next round (opened first, so the broker ids the
            # restart sees are older than every deal of this round), then three pairs closed at
            # the broker: one stopped out, one taken at profit.
            for kw in ({"sl": 1.0500},) + ({"sl": 1.0990}, {"tp": 1.1010}) * 3:
                assert c.post("/api/v1/orders", json=_order(**kw), headers=ADMIN).status_code == 201
            _quote(c, 1.0985)  # through the sl
            _quote(c, 1.1015)  # through the tp
            closed = [p for p in c.get("/api/v1/positions?state=closed", headers=ADMIN).json()]
            closed_total += 6
            assert len(closed) == closed_total, f"round {r}: a broker close was not booked"
            _assert_ledger_equals_broker(c)
    with TestClient(create_app(cfg)) as c:  # and once more after the last round
        _quote(c, 1.1000)
        _assert_ledger_equals_broker(c)
        assert len(c.get("/api/v1/positions", headers=ADMIN).json()) == rounds


def test_the_ledger_knows_its_largest_broker_id(ledger) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from realtime.ledger import tables as t

    assert ledger.max_broker_id() == 0
    now = dt.datetime.now(dt.UTC)
    with ledger.begin() as c:
        for oid, cid in [("9", "a"), ("10", "b"), ("MT-77", "c"), (None, "d")]:
            c.execute(
                t.orders.insert().values(
                    user_id=1,
                    client_order_id=cid,
                    symbol="EURUSD",
                    side="buy",
                    type="market",
                    volume=0.1,
                    status="filled",
                    broker_order_id=oid,
                    created_at=now,
                    updated_at=now,
                )
            )
        assert c.execute(sa.select(sa.func.count()).select_from(t.orders)).scalar_one() == 4
    assert ledger.max_broker_id() == 10  # numeric order, not text order ("9" > "10" as text)
