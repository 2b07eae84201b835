"""How many threads place orders: inline on SQLite with the paper broker, a few for PostgreSQL
with an in-process broker, and enough for a network broker's answers to overlap."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading

from realtime.brokers.base import BrokerCapabilities, ExecReport, OrderIntent, Quote
from realtime.brokers.mt5 import MT5Broker
from realtime.brokers.paper import PaperBroker
from realtime.ledger.accounts import Principal
from realtime.schemas import OrderIn
from realtime.trading.orders import OrderService, order_workers
from realtime.trading.risk import RiskLimits, RiskManager

IN_FLIGHT = 8


def test_thread_counts_follow_the_ledger_and_the_broker():
    paper, network = PaperBroker.capabilities, MT5Broker.capabilities
    assert paper.in_process and not network.in_process
    assert order_workers("sqlite", paper) is None  # inline on the event loop
    assert order_workers("sqlite", network) == 2
    assert order_workers("postgresql", paper) == 3
    assert order_workers("postgresql", network) == IN_FLIGHT


class SlowRemote(PaperBroker):
    """The paper broker taken for a network one whose answers only come once ``IN_FLIGHT``
    orders are with it at the same time (a barrier): fewer threads break the barrier."""

    capabilities = BrokerCapabilities(priced_by_feed=True)

    def __init__(self) -> None:
        super().__init__()
        self.together = threading.Barrier(IN_FLIGHT, timeout=10)
        self.update_quote(Quote("EURUSD", 1.1000, 1.1002, dt.datetime.now(dt.UTC)))

    def submit(self, intent: OrderIntent) -> ExecReport:
        self.together.wait()  # raises BrokenBarrierError unless all are in flight at once
        return super().submit(intent)


def test_orders_to_a_network_broker_wait_for_it_together_on_postgres(pg_ledger):
    broker = SlowRemote()
    workers = order_workers(pg_ledger.engine.dialect.name, broker.capabilities)
    svc = OrderService(pg_ledger, broker, RiskManager(RiskLimits()), workers=workers)
    who = Principal(pg_ledger.accounts.ensure_user("tina", "trader"), "tina", "trader", "key")

    async def place_all() -> list[tuple[object, bool]]:
        orders = [OrderIn(symbol="EURUSD", side="buy", volume=0.1, client_order_id=f"o{i}")
                  for i in range(IN_FLIGHT)]
        return await asyncio.gather(*(svc.place_async(who, o) for o in orders))

    placed = asyncio.run(place_all())
    assert [o.status for o, created in placed if created] == ["filled"] * IN_FLIGHT
    assert not broker.together.broken
