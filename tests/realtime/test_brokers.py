"""PaperBroker (CostModel fills) and MT5Broker against the MT5 terminal simulator."""

from __future__ import annotations

import datetime as dt

import pytest

from ml.backtest.costs import CostModel
from realtime.brokers import mt5_constants as c
from realtime.brokers.base import OrderIntent, Quote
from realtime.brokers.mt5 import MT5Broker, pick_filling
from realtime.brokers.mt5_sim import MT5TerminalSimulator
from realtime.brokers.paper import PaperBroker
from realtime.errors import BrokerError, BrokerUnavailableError

TS = dt.datetime(2024, 3, 6, 12, tzinfo=dt.UTC)


def test_paper_market_fill_uses_touch_slippage_and_commission():
    fills = []
    b = PaperBroker(
        CostModel(commission_per_lot=3.5, slippage_pips=0.5), balance=10_000, on_fill=fills.append
    )
    with pytest.raises(BrokerUnavailableError, match="no quote"):
        b.submit(OrderIntent(1, "EURUSD", "buy", "market", 0.1))
    b.update_quote(Quote("EURUSD", 1.1000, 1.1002, TS))
    r = b.submit(OrderIntent(1, "EURUSD", "buy", "market", 1.0))
    assert r.status == "filled" and r.price == pytest.approx(1.1002 + 0.00005)
    assert r.commission == pytest.approx(3.5) and b.balance == pytest.approx(10_000 - 3.5)
    close = b.submit(OrderIntent(2, "EURUSD", "sell", "market", 1.0, close_position=r.broker_position_id))
    assert close.price == pytest.approx(1.1000 - 0.00005)
    assert b.positions() == []
    # round trip: spread 2 pips + 2 x 0.5 pip slippage = 3 pips on 100k units, plus two commissions
    assert b.balance == pytest.approx(10_000 - 30.0 - 7.0)
    assert b.fills_for(1).price == r.price


def test_paper_limit_rests_then_fills_on_a_crossing_quote():
    fills = []
    b = PaperBroker(CostModel(slippage_pips=1.0), on_fill=fills.append)
    b.update_quote(Quote("EURUSD", 1.1000, 1.1002, TS))
    placed = b.submit(OrderIntent(7, "EURUSD", "buy", "limit", 0.2, price=1.0990))
    assert placed.status == "placed" and b.open_orders() == [placed.broker_order_id]
    b.update_quote(Quote("EURUSD", 1.0992, 1.0994, TS))
    assert fills == []
    b.update_quote(Quote("EURUSD", 1.0987, 1.0989, TS))
    assert len(fills) == 1 and fills[0].price == pytest.approx(1.0989) and fills[0].ref == 7  # no slippage
    assert b.open_orders() == []
    with pytest.raises(BrokerError):
        b.cancel(placed.broker_order_id)


@pytest.fixture
def sim():
    s = MT5TerminalSimulator(balance=50_000)
    s.add_symbol("EURUSD")
    s.add_symbol("GBPUSD", filling_mode=c.SYMBOL_FILLING_IOC)
    s.push_tick("EURUSD", 1.10000, 1.10010, 1_709_726_400_000)
    s.push_tick("GBPUSD", 1.27000, 1.27015, 1_709_726_400_000)
    s.initialize()
    return s


def test_filling_mode_follows_symbol_info():
    assert pick_filling(c.SYMBOL_FILLING_FOK | c.SYMBOL_FILLING_IOC) == c.ORDER_FILLING_FOK
    assert pick_filling(c.SYMBOL_FILLING_IOC) == c.ORDER_FILLING_IOC
    assert pick_filling(0) == c.ORDER_FILLING_RETURN


def test_mt5_checks_then_sends_and_reads_back(sim):
    b = MT5Broker(sim, magic=777, deviation=10)
    r = b.submit(OrderIntent(41, "GBPUSD", "buy", "market", 0.3, sl=1.2600, tp=1.2800))
    assert sim.calls == ["order_check", "order_send"]
    assert r.status == "filled" and r.price == pytest.approx(1.27015) and r.commission == pytest.approx(1.05)
    [pos] = b.positions()
    assert (pos.symbol, pos.side, pos.volume, pos.ref) == ("GBPUSD", "buy", 0.3, 41)
    assert b.fills_for(41).broker_deal_id == r.broker_deal_id and b.fills_for(42) is None
    close = b.submit(OrderIntent(42, "GBPUSD", "sell", "market", 0.3, close_position=pos.broker_position_id))
    assert close.price == pytest.approx(1.27000) and b.positions() == []
    assert b.account().balance == pytest.approx(50_000 - 2.1 - 0.00015 * 0.3 * 100_000)


def test_mt5_retcodes_become_clear_errors(sim):
    b = MT5Broker(sim)
    with pytest.raises(BrokerError, match="invalid stops") as e:
        b.submit(OrderIntent(1, "EURUSD", "buy", "market", 0.1, sl=1.2))
    assert e.value.retcode == c.TRADE_RETCODE_INVALID_STOPS
    with pytest.raises(BrokerError, match="invalid volume"):
        b.submit(OrderIntent(2, "EURUSD", "buy", "market", 0.015))
    with pytest.raises(BrokerError, match="does not know symbol"):
        b.submit(OrderIntent(3, "XAUUSD", "buy", "market", 0.1))
    sim.market_open = False
    with pytest.raises(BrokerError, match="market is closed"):
        b.submit(OrderIntent(4, "EURUSD", "buy", "market", 0.1))
    assert sim.calls.count("order_send") == 0  # order_check caught every one
    with pytest.raises(BrokerError, match="not enough money"):
        sim.market_open = True
        b.submit(OrderIntent(5, "EURUSD", "buy", "market", 100.0))


def test_mt5_wrong_filling_mode_is_refused_by_the_terminal(sim):
    req = {
        "action": c.TRADE_ACTION_DEAL,
        "symbol": "GBPUSD",
        "volume": 0.1,
        "type": c.ORDER_TYPE_BUY,
        "price": 1.27015,
        "deviation": 10,
        "type_filling": c.ORDER_FILLING_FOK,
    }
    sim.symbol_select("GBPUSD")
    assert sim.order_check(req).retcode == c.TRADE_RETCODE_INVALID_FILL
    req["type_filling"] = c.ORDER_FILLING_IOC
    assert sim.order_check(req).retcode == 0
    req["price"] = 1.2690  # far from the ask: beyond the deviation
    assert sim.order_send(req).retcode == c.TRADE_RETCODE_REQUOTE


def test_mt5_limit_orders_are_placed_and_cancelled(sim):
    b = MT5Broker(sim)
    r = b.submit(OrderIntent(9, "EURUSD", "sell", "limit", 0.1, price=1.1050))
    assert r.status == "placed" and b.open_orders() == [r.broker_order_id]
    b.cancel(r.broker_order_id)
    assert b.open_orders() == []
    with pytest.raises(BrokerError, match="invalid or prohibited order"):
        b.cancel(r.broker_order_id)


def test_mt5_disconnected_terminal_is_unavailable(sim):
    b = MT5Broker(sim)
    sim.shutdown()
    assert not b.ping()
    with pytest.raises(BrokerUnavailableError, match="No IPC connection"):
        b.submit(OrderIntent(1, "EURUSD", "buy", "market", 0.1))
    with pytest.raises(BrokerUnavailableError):
        b.positions()
