"""The paper broker and the ledger keep money in the account currency (USD): hand-computed
USDJPY and GBPJPY round trips."""

from __future__ import annotations

import datetime as dt

import pytest

from ml.costs import CostModel
from realtime.brokers.base import OrderIntent, Quote
from realtime.brokers.paper import PaperBroker
from realtime.errors import BrokerUnavailableError
from realtime.ledger import Ledger
from realtime.trading.fills import book_fill

T0 = dt.datetime(2025, 1, 7, 10, tzinfo=dt.UTC)  # a Tuesday morning, far from the rollover


def broker() -> PaperBroker:
    return PaperBroker(CostModel(commission_per_lot=7.0, apply_swap=False), balance=100_000.0)


def test_usdjpy_round_trip_in_usd(ledger: Ledger) -> None:
    b = broker()
    b.update_quote(Quote("USDJPY", 150.00, 150.02, T0))
    opened = b.submit(OrderIntent(1, "USDJPY", "buy", "market", 1.0))
    assert opened.price == pytest.approx(150.02) and opened.commission == pytest.approx(7.0)
    assert opened.fx == pytest.approx(1 / 150.01)
    b.update_quote(Quote("USDJPY", 151.00, 151.02, T0 + dt.timedelta(minutes=5)))
    # marked at the bid: (151.00 - 150.02) x 100,000 = 98,000 JPY at USDJPY 151.01
    assert b.account().equity == pytest.approx(100_000 - 7.0 + 98_000 / 151.01)
    pid = opened.broker_position_id
    closed = b.submit(OrderIntent(2, "USDJPY", "sell", "market", 1.0, close_position=pid))
    assert b.balance == pytest.approx(100_000 - 14.0 + 98_000 / 151.01)
    # the ledger books the same P&L from the fills' prices and rates
    buy, _ = ledger.create_order(1, "b", symbol="USDJPY", side="buy", type="market", volume=1.0)
    book_fill(ledger, buy, opened)
    [pos] = ledger.positions()
    sell, _ = ledger.create_order(1, "s", symbol="USDJPY", side="sell", type="market", volume=1.0,
                                  position_id=pos.id)
    book_fill(ledger, sell, closed)
    assert ledger.lifetime_pnl() == pytest.approx(98_000 / 151.01 - 14.0)


def test_gbpjpy_converts_at_the_usdjpy_quote() -> None:
    b = broker()
    b.update_quote(Quote("GBPJPY", 190.00, 190.04, T0))
    with pytest.raises(BrokerUnavailableError, match="USDJPY"):
        b.submit(OrderIntent(1, "GBPJPY", "buy", "market", 1.0))
    b.update_quote(Quote("USDJPY", 160.00, 160.00, T0))
    opened = b.submit(OrderIntent(1, "GBPJPY", "buy", "market", 1.0))
    assert opened.commission == pytest.approx(7.0)  # 7 USD, not 7 JPY
    b.update_quote(Quote("GBPJPY", 191.00, 191.04, T0 + dt.timedelta(minutes=5)))
    b.submit(OrderIntent(2, "GBPJPY", "sell", "market", 1.0, close_position=opened.broker_position_id))
    # bought at 190.04, sold at 191.00: 96,000 JPY at 160 = 600 USD
    assert b.balance == pytest.approx(100_000 - 14.0 + 600.0)
