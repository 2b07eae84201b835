"""The paper account's equity and margin from running sums, and its free-margin check."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from marketdata.instruments import get_instrument
from ml.costs import CostModel
from realtime.brokers.base import OrderIntent, Quote
from realtime.brokers.paper import PaperBroker
from realtime.errors import BrokerError
from realtime.ledger.trades import gross_pnl
from realtime.main import create_app
from tests.realtime.conftest import ADMIN_KEY, settings_for

T0 = dt.datetime(2025, 1, 7, 12, tzinfo=dt.UTC)


def naive_account(b: PaperBroker) -> tuple[float, float]:
    """Equity and margin by a pass over every open position (what the running sums replace)."""
    equity, margin = b.balance, 0.0
    for p in b.positions():
        q = b.quote(p.symbol)
        mark = p.price_open if q is None else (q.bid if p.side == "buy" else q.ask)
        equity += gross_pnl(p.symbol, p.side, p.volume, p.price_open, mark)
        margin += p.volume * get_instrument(p.symbol).contract_size * mark / b.leverage
    return equity, margin


def test_running_sums_equal_a_pass_over_the_positions() -> None:
    rng = random.Random(5)
    b = PaperBroker(CostModel(commission_per_lot=3.5, apply_swap=False), balance=1e7)
    mids = {"EURUSD": 1.10, "GBPUSD": 1.27}
    for i in range(400):
        sym = rng.choice(list(mids))
        mids[sym] *= 1 + rng.gauss(0, 0.001)
        pip = get_instrument(sym).pip_size
        b.update_quote(Quote(sym, mids[sym], mids[sym] + 2 * pip, T0 + dt.timedelta(seconds=i)))
        held = [p for p in b.positions() if p.symbol == sym]
        if held and rng.random() < 0.4:  # a partial or full close
            p = rng.choice(held)
            lots = p.volume if rng.random() < 0.5 else round(p.volume / 2, 2) or p.volume
            close_side = "sell" if p.side == "buy" else "buy"
            b.submit(OrderIntent(i, sym, close_side, "market", lots, close_position=p.broker_position_id))
        else:
            b.submit(OrderIntent(i, sym, rng.choice(["buy", "sell"]), "market", rng.choice([0.1, 0.3, 1.0])))
        acct = b.account()
        equity, margin = naive_account(b)
        assert acct.equity == pytest.approx(equity, rel=1e-9, abs=1e-6)
        assert acct.margin == pytest.approx(margin, rel=1e-9, abs=1e-6)
    assert len(b.positions()) > 10  # the walk kept a book open


def test_an_order_beyond_free_margin_is_refused() -> None:
    b = PaperBroker(CostModel(apply_swap=False), balance=1_000.0, leverage=30.0)
    b.update_quote(Quote("EURUSD", 1.1000, 1.1001, T0))
    b.submit(OrderIntent(1, "EURUSD", "buy", "market", 0.2))  # 22,002 notional: 733 margin
    with pytest.raises(BrokerError, match="not enough free margin"):
        b.submit(OrderIntent(2, "EURUSD", "buy", "market", 0.1))  # 367 more; ~265 free
    [pos] = b.positions()  # closing needs no margin
    b.submit(OrderIntent(3, "EURUSD", "sell", "market", 0.2, close_position=pos.broker_position_id))
    assert b.positions() == []


def test_resting_limit_orders_reserve_their_margin() -> None:
    b = PaperBroker(CostModel(apply_swap=False), balance=1_000.0, leverage=30.0)
    b.update_quote(Quote("EURUSD", 1.1000, 1.1001, T0))
    placed = []
    for i in range(10):  # sell limits above the market, 0.2 lots (~740 margin) each
        try:
            placed.append(b.submit(OrderIntent(i, "EURUSD", "sell", "limit", 0.2, price=1.1100)))
        except BrokerError as exc:
            assert "not enough free margin" in str(exc)
    assert len(placed) == 1  # the second would need more than the first left free
    with pytest.raises(BrokerError, match="not enough free margin"):
        b.submit(OrderIntent(11, "EURUSD", "sell", "market", 0.2))
    b.update_quote(Quote("EURUSD", 1.1100, 1.1101, T0 + dt.timedelta(seconds=1)))  # the limit fills
    acct = b.account()
    assert len(b.positions()) == 1 and acct.margin <= acct.equity


def test_the_app_records_a_margin_refusal(ledger_dir: Path) -> None:
    with TestClient(create_app(settings_for(ledger_dir, paper_balance=1_000.0))) as c:
        body = {"symbol": "EURUSD", "side": "buy", "volume": 1.0, "client_order_id": uuid.uuid4().hex}
        r = c.post("/api/v1/orders", json=body, headers={"X-API-Key": ADMIN_KEY})
        assert r.status_code == 422 and "free margin" in r.json()["detail"]
        rejected = c.get("/api/v1/orders?status=rejected", headers={"X-API-Key": ADMIN_KEY}).json()
        assert [o["client_order_id"] for o in rejected] == [body["client_order_id"]]
