"""PaperBroker (CostModel fills) and MT5Broker against the MT5 terminal simulator."""

from __future__ import annotations

import datetime as dt

import pytest

from ml.costs import CostModel
from realtime.brokers import mt5_constants as c
from realtime.brokers.base import BrokerOutcomeUnknownError, OrderIntent, Quote
from realtime.brokers.mt5 import MT5Broker, pick_filling
from realtime.brokers.paper import PaperBroker
from realtime.errors import BrokerError, BrokerUnavailableError
from tests.support.mt5sim import MT5TerminalSimulator

TS = dt.datetime(2024, 3, 6, 12, tzinfo=dt.UTC)


def test_paper_market_fill_uses_touch_slippage_and_commission():
    b = PaperBroker(CostModel(commission_per_lot=3.5, slippage_pips=0.5), balance=10_000)
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
    b = PaperBroker(CostModel(slippage_pips=1.0))
    b.update_quote(Quote("EURUSD", 1.1000, 1.1002, TS))
    placed = b.submit(OrderIntent(7, "EURUSD", "buy", "limit", 0.2, price=1.0990))
    assert placed.status == "placed" and b.open_orders() == [placed.broker_order_id]
    fills = b.update_quote(Quote("EURUSD", 1.0992, 1.0994, TS))  # the quote returns its deals
    assert fills == []
    fills += b.update_quote(Quote("EURUSD", 1.0987, 1.0989, TS))
    assert len(fills) == 1 and fills[0].price == pytest.approx(1.0989) and fills[0].ref == 7  # no slippage
    assert b.open_orders() == []
    with pytest.raises(BrokerError):
        b.cancel(placed.broker_order_id)


def test_paper_sl_and_tp_close_positions_at_the_touch():
    costs = CostModel(commission_per_lot=2.0, slippage_pips=1.0)
    b = PaperBroker(costs, balance=100_000)
    b.update_quote(Quote("EURUSD", 1.1000, 1.1002, TS))
    short = b.submit(OrderIntent(1, "EURUSD", "sell", "market", 1.0, sl=1.1050, tp=1.0950))
    long = b.submit(OrderIntent(2, "EURUSD", "buy", "market", 1.0, sl=1.0980))
    plain = b.submit(OrderIntent(3, "EURUSD", "buy", "market", 1.0))
    assert {p.broker_position_id: (p.sl, p.tp) for p in b.positions()} == {
        short.broker_position_id: (1.1050, 1.0950),
        long.broker_position_id: (1.0980, None),
        plain.broker_position_id: (None, None),
    }
    fills = b.update_quote(Quote("EURUSD", 1.0948, 1.0950, TS))  # the short's tp and the long's sl
    assert len(fills) == 2 and all(f.ref is None for f in fills)
    by_reason = {f.reason: f for f in fills}
    tp, sl = by_reason["tp"], by_reason["sl"]
    assert tp.broker_position_id == short.broker_position_id and tp.price == pytest.approx(1.0950)
    assert sl.broker_position_id == long.broker_position_id and sl.price == pytest.approx(1.0948 - 0.0001)
    assert [p.broker_position_id for p in b.positions()] == [plain.broker_position_id]
    assert b.position_closes(short.broker_position_id) == [tp]
    pnl = (short.price - 1.0950) * 100_000 + (sl.price - long.price) * 100_000
    assert b.balance == pytest.approx(100_000 - 5 * 2.0 + pnl)


def test_paper_working_order_is_found_by_ref():
    b = PaperBroker()
    b.update_quote(Quote("EURUSD", 1.1000, 1.1002, TS))
    placed = b.submit(OrderIntent(5, "EURUSD", "buy", "limit", 0.1, price=1.09))
    assert b.working_order(5) == placed.broker_order_id and b.working_order(6) is None


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
    sent = sim.last_request  # the broker's deviation and magic number reach the terminal
    assert (sent["deviation"], sent["magic"], sent["comment"]) == (10, 777, "af:41")
    assert sent["type_filling"] == c.ORDER_FILLING_IOC  # GBPUSD allows IOC only
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


def test_mt5_terminal_closes_at_tp_and_fills_pending_orders_on_ticks(sim):
    b = MT5Broker(sim, magic=777)
    r = b.submit(OrderIntent(7, "EURUSD", "buy", "market", 0.1, tp=1.1010))
    lim = b.submit(OrderIntent(8, "EURUSD", "sell", "limit", 0.2, price=1.1008))
    assert b.working_order(8) == lim.broker_order_id and b.working_order(7) is None
    [pos] = b.positions()
    assert (pos.sl, pos.tp) == (None, 1.1010)
    sim.push_tick("EURUSD", 1.10100, 1.10110, 1_709_726_401_000)  # tp reached, limit crossed
    [closed] = b.position_closes(r.broker_position_id)
    assert closed.ref is None and closed.reason == "tp" and closed.price == pytest.approx(1.10100)
    assert closed.volume == 0.1 and closed.commission == pytest.approx(0.35)
    assert b.working_order(8) is None and b.open_orders() == []
    [short] = b.positions()
    assert (short.side, short.volume, short.ref) == ("sell", 0.2, 8)
    assert short.broker_position_id == lim.broker_order_id  # hedging: the position is the order's
    assert b.fills_for(8).price == pytest.approx(1.1008)
    mine = b.submit(OrderIntent(9, "EURUSD", "buy", "market", 0.2, close_position=short.broker_position_id))
    [ours] = b.position_closes(short.broker_position_id)
    assert ours.ref == 9 and ours.reason is None and ours.broker_deal_id == mine.broker_deal_id


def test_mt5_send_without_answer_is_outcome_unknown_not_failed(sim):
    b = MT5Broker(sim)
    real = sim.order_send
    sim.order_send = lambda req: (real(req), None)[1]
    with pytest.raises(BrokerOutcomeUnknownError, match="unknown"):
        b.submit(OrderIntent(1, "EURUSD", "buy", "market", 0.1))
    sim.order_send = lambda req: (_ for _ in ()).throw(EOFError("stream has been closed"))
    with pytest.raises(BrokerOutcomeUnknownError, match="EOFError"):
        b.submit(OrderIntent(2, "EURUSD", "buy", "market", 0.1))
    sim.order_send = real
    assert b.fills_for(1) is not None and b.fills_for(2) is None  # the first one did execute
    sim.shutdown()  # refused before the send: definitely not executed, so plainly unavailable
    with pytest.raises(BrokerUnavailableError) as e:
        b.submit(OrderIntent(3, "EURUSD", "buy", "market", 0.1))
    assert not isinstance(e.value, BrokerOutcomeUnknownError)
