"""On PostgreSQL an order's statements share one pooled connection, which is not held while a
network broker answers; each statement still commits by itself (the order is durable before the
broker sees it)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from realtime.brokers.base import BrokerCapabilities, ExecReport, OrderIntent, Quote
from realtime.brokers.paper import PaperBroker
from realtime.ledger import Ledger
from realtime.ledger.accounts import Principal
from realtime.schemas import OrderIn
from realtime.trading.orders import OrderService
from realtime.trading.risk import RiskLimits, RiskManager


class RemotePaper(PaperBroker):
    """The paper broker taken for a network one; ``submit`` records what the ledger shows then."""

    capabilities = BrokerCapabilities(priced_by_feed=True)

    def __init__(self, ledger: Ledger):
        super().__init__()
        self.ledger = ledger
        self.seen: tuple[int, str | None] | None = None
        self.update_quote(Quote("EURUSD", 1.1000, 1.1002, dt.datetime.now(dt.UTC)))

    def submit(self, intent: OrderIntent) -> ExecReport:
        # What another connection sees: the order committed; and the pool's connections in use.
        with self.ledger.engine.connect() as c:
            query = sa.text("SELECT status FROM af_orders WHERE id = :i")
            status = c.execute(query, {"i": intent.ref}).scalar()
        self.seen = (self.ledger._auto.pool.checkedout(), status)  # type: ignore[attr-defined]
        return super().submit(intent)


def _checkouts(ledger: Ledger) -> list[int]:
    counted = [0]

    @sa.event.listens_for(ledger._auto, "checkout")
    def _count(*_: object) -> None:
        counted[0] += 1

    return counted


def _order(cid: str) -> OrderIn:
    return OrderIn(symbol="EURUSD", side="buy", volume=0.1, client_order_id=cid)


def test_an_opening_order_checks_out_one_connection(pg_ledger):
    broker = PaperBroker()
    broker.update_quote(Quote("EURUSD", 1.1000, 1.1002, dt.datetime.now(dt.UTC)))
    svc = OrderService(pg_ledger, broker, RiskManager(RiskLimits()), workers=None)
    who = Principal(pg_ledger.accounts.ensure_user("tina", "trader"), "tina", "trader", "key")
    svc.place(who, _order("warm"))  # prepares the statements on the pool's connection
    counted = _checkouts(pg_ledger)
    order, created = svc.place(who, _order("one"))
    assert created and order.status == "filled"
    assert counted[0] == 1  # the INSERT, the pre-trade read and the fill: one checkout
    assert pg_ledger._auto.pool.checkedout() == 0
    again, created = svc.place(who, _order("one"))  # a retry: answered from the ledger
    assert not created and again.id == order.id and pg_ledger.get_order(order.id).status == "filled"


def test_a_network_broker_is_asked_with_the_order_committed_and_no_connection_held(pg_ledger):
    broker = RemotePaper(pg_ledger)
    svc = OrderService(pg_ledger, broker, RiskManager(RiskLimits()), workers=None)
    who = Principal(pg_ledger.accounts.ensure_user("tina", "trader"), "tina", "trader", "key")
    counted = _checkouts(pg_ledger)
    order, created = svc.place(who, _order("remote"))
    assert created and order.status == "filled"
    assert broker.seen == (0, "pending")
    assert counted[0] == 2  # the INSERT and the pre-trade read, then the fill
    assert pg_ledger._auto.pool.checkedout() == 0
