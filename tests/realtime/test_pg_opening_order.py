"""On PostgreSQL an opening order's INSERT also reads what its pre-trade check needs: one
statement, one round trip and one commit fewer per order, with the same totals as the separate
read and the order durable when it returns."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from realtime.brokers.base import Quote
from realtime.brokers.paper import PaperBroker
from realtime.ledger import Ledger
from realtime.ledger.accounts import Principal
from realtime.ledger.prepared import Prepared
from realtime.schemas import OrderIn
from realtime.trading.orders import OrderService
from realtime.trading.risk import RiskLimits, RiskManager

ORDER = dict(symbol="EURUSD", side="buy", type="market", volume=0.3)


def _service(ledger: Ledger) -> OrderService:
    broker = PaperBroker()
    broker.update_quote(Quote("EURUSD", 1.1000, 1.1002, dt.datetime.now(dt.UTC)))
    return OrderService(ledger, broker, RiskManager(RiskLimits()), workers=None)


def test_the_opening_order_comes_with_the_totals_of_the_separate_read(ledger):
    today = dt.datetime.now(dt.UTC).date()
    uid = ledger.accounts.ensure_user("tina", "trader")
    other = ledger.accounts.ensure_user("omar", "trader")
    svc = _service(ledger)
    svc.place(Principal(uid, "tina", "trader", "k"), OrderIn(symbol="EURUSD", side="sell", volume=0.5,
                                                                client_order_id="open"))
    ledger.create_order(other, "working", **ORDER | {"volume": 0.2})  # pending: counts as if filled
    order, created, totals = ledger.create_opening_order(uid, "new", today, **ORDER)
    assert created and order.status == "pending" and order.volume == 0.3
    # The separate read, leaving the new order out as the check always did.
    assert totals == ledger.pre_trade_totals("EURUSD", today, uid, order.id)
    (net, gross, _), mine = totals
    assert (net, gross) == pytest.approx((-0.3, 0.7)) and mine == pytest.approx((-0.5, 0.5))
    with ledger.engine.connect() as c:  # committed: another connection sees it
        status = c.execute(sa.text("SELECT status FROM af_orders WHERE id = :i"), {"i": order.id}).scalar()
    assert status == "pending"
    again, created, none = ledger.create_opening_order(uid, "new", today, **ORDER | {"volume": 9.0})
    assert (again.id, again.volume, created, none) == (order.id, 0.3, False, None)


def test_a_paper_order_on_postgres_is_two_statements(pg_ledger, monkeypatch):
    svc = _service(pg_ledger)
    who = Principal(pg_ledger.accounts.ensure_user("tina", "trader"), "tina", "trader", "k")
    run, ran = Prepared.run, []

    def counted(self: Prepared, c: sa.Connection, params: dict) -> list:
        ran.append(self.name)
        return run(self, c, params)

    monkeypatch.setattr(Prepared, "run", counted)
    order, created = svc.place(who, OrderIn(symbol="EURUSD", side="buy", volume=0.1, client_order_id="a"))
    assert created and order.status == "filled"
    assert ran == ["af_insert_order_pre_trade", "af_opening_fill"]


def test_a_closing_order_is_refused_by_create_opening_order(ledger):
    uid = ledger.accounts.ensure_user("tina", "trader")
    with pytest.raises(ValueError, match="opening"):
        ledger.create_opening_order(uid, "x", dt.date(2026, 12, 4), **ORDER, position_id=1)
