"""The MT5 terminal simulator answers as a real trade server does, and MT5Broker reads it right."""

from __future__ import annotations

import datetime as dt

import pytest

from realtime.brokers import mt5_constants as c
from realtime.brokers.base import OrderIntent
from realtime.brokers.mt5 import MT5Broker
from realtime.errors import BrokerError
from tests.support.mt5sim import MT5TerminalSimulator

T0 = dt.datetime(2024, 3, 6, 12, tzinfo=dt.UTC)
T0_MS = int(T0.timestamp() * 1000)


class Clock:
    """A server clock a test moves by hand."""

    def __init__(self, t: dt.datetime):
        self.t = t

    def __call__(self) -> float:
        return self.t.timestamp()


@pytest.fixture
def clock():
    return Clock(T0)


@pytest.fixture
def sim(clock):
    s = MT5TerminalSimulator(balance=50_000, fee_per_deal=0.5, clock=clock)
    s.add_symbol("EURUSD", swap_long=-7.0, swap_short=2.0)
    s.add_symbol("GBPUSD", filling_mode=c.SYMBOL_FILLING_IOC, exemode=c.SYMBOL_TRADE_EXECUTION_INSTANT)
    s.push_tick("EURUSD", 1.10000, 1.10010, T0_MS)
    s.push_tick("GBPUSD", 1.27000, 1.27015, T0_MS)
    s.initialize()
    for sym in ("EURUSD", "GBPUSD"):
        s.symbol_select(sym)
    return s


def market(symbol: str, side: int, volume: float, price: float, filling: int, **kw) -> dict:
    return {"action": c.TRADE_ACTION_DEAL, "symbol": symbol, "volume": volume, "type": side,
            "price": price, "deviation": 10, "type_filling": filling} | kw  # fmt: skip


def test_history_deals_get_honours_its_date_window(sim, clock):
    b = MT5Broker(sim)
    for i in range(3):
        clock.t = T0 + dt.timedelta(hours=i)
        b.submit(OrderIntent(i + 1, "EURUSD", "buy", "market", 0.1))
    wide = sim.history_deals_get(T0 - dt.timedelta(hours=1), T0 + dt.timedelta(hours=3))
    assert len(wide) == 3
    moved = sim.history_deals_get(T0 + dt.timedelta(minutes=30), T0 + dt.timedelta(hours=3))
    assert len(moved) == 2
    assert sim.history_deals_get(T0 + dt.timedelta(hours=5), T0 + dt.timedelta(hours=6)) == ()
    assert sim.history_deals_get() is None and sim.last_error()[0] == -2
    clock.t = T0 + dt.timedelta(days=30)  # the broker's default window no longer holds them
    assert b.fills_for(1) is None


def test_deals_and_positions_carry_swap_and_fee(sim):
    b = MT5Broker(sim)
    opened = b.submit(OrderIntent(1, "EURUSD", "buy", "market", 1.0))
    assert opened.commission == pytest.approx(3.5 + 0.5)  # the fee is a cost like the commission
    sim.rollover(nights=3)  # a Wednesday rollover counts three nights
    [pos] = sim.positions_get()
    assert pos.swap == pytest.approx(-21.0)
    assert sim.account_info().equity == pytest.approx(50_000 - 4.0 + pos.profit - 21.0)
    b.submit(OrderIntent(2, "EURUSD", "sell", "market", 0.4, close_position=opened.broker_position_id))
    out = sim.history_deals_get(position=int(opened.broker_position_id))[-1]
    assert (out.fee, out.swap) == (pytest.approx(-0.5), pytest.approx(-21.0 * 0.4))
    assert sim.positions_get()[0].swap == pytest.approx(-21.0 * 0.6)


@pytest.mark.parametrize(
    ("server_tz", "utc", "nights"),
    [
        (None, dt.datetime(2024, 3, 5, 23, 59), 1),  # Tuesday's rollover
        (None, dt.datetime(2024, 3, 6, 23, 59), 3),  # Wednesday's pays for the weekend
        (None, dt.datetime(2024, 3, 7, 23, 59), 1),
        (None, dt.datetime(2024, 3, 9, 23, 59), 0),  # no rollover on Saturday or Sunday
        (None, dt.datetime(2024, 3, 10, 23, 59), 0),
        ("Europe/Athens", dt.datetime(2024, 3, 6, 21, 59), 3),  # 23:59 Wednesday at the server
        ("Europe/Athens", dt.datetime(2024, 3, 6, 22, 30), 1),  # already Thursday there
    ],
)
def test_a_rollover_charges_the_nights_a_server_does(clock, server_tz, utc, nights):
    sim = MT5TerminalSimulator(clock=clock, server_tz=server_tz)
    sim.add_symbol("EURUSD", swap_long=-7.0, swap_short=2.0)
    sim.push_tick("EURUSD", 1.10000, 1.10010, T0_MS)
    sim.initialize()
    sim.symbol_select("EURUSD")
    MT5Broker(sim).submit(OrderIntent(1, "EURUSD", "buy", "market", 0.5))
    MT5Broker(sim).submit(OrderIntent(2, "EURUSD", "sell", "market", 2.0))
    clock.t = utc.replace(tzinfo=dt.UTC)
    sim.rollover()
    long, short = sim.positions_get()
    # Per lot and night in the deposit currency: -7 a lot for a long, +2 for a short.
    assert (long.swap, short.swap) == (pytest.approx(-3.5 * nights), pytest.approx(4.0 * nights))


def test_copy_ticks_range_and_rates(sim):
    for i in range(1, 180):  # three minutes of ticks, one a second
        sim.push_tick("EURUSD", 1.1 + i * 1e-5, 1.1001 + i * 1e-5, T0_MS + i * 1000)
    ticks = sim.copy_ticks_range("EURUSD", T0 + dt.timedelta(seconds=10), T0 + dt.timedelta(seconds=19), -1)
    assert len(ticks) == 10 and ticks["time_msc"][0] == T0_MS + 10_000
    rates = sim.copy_rates_range("EURUSD", c.TIMEFRAME_M1, T0, T0 + dt.timedelta(minutes=10))
    assert list(rates["time"]) == [int(T0.timestamp()) + 60 * k for k in range(3)]
    assert list(rates["tick_volume"]) == [60, 60, 60]
    assert rates["open"][1] == pytest.approx(1.1 + 60e-5) and rates["close"][1] == pytest.approx(1.1 + 119e-5)
    assert rates["spread"][0] == 10
    last_closed = sim.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M1, 1, 5)
    assert list(last_closed["time"]) == list(rates["time"][:2])
    hourly = sim.copy_rates_from_pos("EURUSD", c.TIMEFRAME_H1, 0, 1)
    assert hourly["tick_volume"][0] == 180


def test_ioc_fills_part_and_fok_is_refused_when_liquidity_is_short(sim):
    sim.liquidity["GBPUSD"] = 0.3
    sim.liquidity["EURUSD"] = 0.3
    b = MT5Broker(sim)
    r = b.submit(OrderIntent(1, "GBPUSD", "buy", "market", 1.0))  # IOC-only symbol
    assert sim.last_request["type_filling"] == c.ORDER_FILLING_IOC
    assert r.status == "filled" and r.volume == pytest.approx(0.3)
    [pos] = b.positions()
    assert pos.volume == pytest.approx(0.3)
    with pytest.raises(BrokerError, match="rejected") as e:
        b.submit(OrderIntent(2, "EURUSD", "buy", "market", 1.0))  # FOK: all or nothing
    assert e.value.retcode == c.TRADE_RETCODE_REJECT and len(b.positions()) == 1


def test_requotes_only_under_instant_execution(sim):
    moved = market("GBPUSD", c.ORDER_TYPE_BUY, 0.1, 1.26900, c.ORDER_FILLING_IOC)  # 11.5 pips off
    res = sim.order_send(moved)
    assert res.retcode == c.TRADE_RETCODE_REQUOTE and res.ask == pytest.approx(1.27015)
    assert sim.positions_get() == ()
    # Market execution ignores the request's price: it fills at the market.
    anywhere = market("EURUSD", c.ORDER_TYPE_BUY, 0.1, 1.0, c.ORDER_FILLING_FOK)
    res = sim.order_send(anywhere)
    assert res.retcode == c.TRADE_RETCODE_DONE and res.price == pytest.approx(1.10010)


def test_filling_modes_the_symbol_does_not_allow_are_refused(sim):
    ret = market("EURUSD", c.ORDER_TYPE_BUY, 0.1, 1.1001, c.ORDER_FILLING_RETURN)
    assert sim.order_check(ret).retcode == c.TRADE_RETCODE_INVALID_FILL  # Market execution
    fok = market("GBPUSD", c.ORDER_TYPE_BUY, 0.1, 1.27015, c.ORDER_FILLING_FOK)
    assert sim.order_send(fok).retcode == c.TRADE_RETCODE_INVALID_FILL
    pending = {"action": c.TRADE_ACTION_PENDING, "symbol": "EURUSD", "volume": 0.1, "price": 1.09,
               "type": c.ORDER_TYPE_BUY_LIMIT, "type_filling": c.ORDER_FILLING_RETURN}  # fmt: skip
    assert sim.order_check(pending).retcode == 0  # a resting order may RETURN


def test_limit_prices_on_the_wrong_side_are_invalid(sim):
    b = MT5Broker(sim)
    with pytest.raises(BrokerError, match="invalid price") as e:
        b.submit(OrderIntent(1, "EURUSD", "buy", "limit", 0.1, price=1.1005))  # above the ask
    assert e.value.retcode == c.TRADE_RETCODE_INVALID_PRICE
    with pytest.raises(BrokerError, match="invalid price"):
        b.submit(OrderIntent(2, "EURUSD", "sell", "limit", 0.1, price=1.0990))  # below the bid
    assert b.submit(OrderIntent(3, "EURUSD", "sell", "limit", 0.1, price=1.1020)).status == "placed"


def test_closes_are_checked_for_volume_direction_and_symbol(sim):
    b = MT5Broker(sim)
    pos = b.submit(OrderIntent(1, "EURUSD", "buy", "market", 0.2)).broker_position_id
    with pytest.raises(BrokerError, match="exceeds") as e:
        b.submit(OrderIntent(2, "EURUSD", "sell", "market", 0.3, close_position=pos))
    assert e.value.retcode == c.TRADE_RETCODE_INVALID_CLOSE_VOLUME
    with pytest.raises(BrokerError, match="invalid request"):
        b.submit(OrderIntent(3, "EURUSD", "buy", "market", 0.2, close_position=pos))  # same direction
    with pytest.raises(BrokerError, match="invalid request"):
        b.submit(OrderIntent(4, "GBPUSD", "sell", "market", 0.2, close_position=pos))
    assert b.submit(OrderIntent(5, "EURUSD", "sell", "market", 0.2, close_position=pos)).volume == 0.2
    with pytest.raises(BrokerError, match="already closed"):
        b.submit(OrderIntent(6, "EURUSD", "sell", "market", 0.2, close_position=pos))


def test_times_are_in_server_time():
    summer, winter = dt.datetime(2024, 7, 1, 10, tzinfo=dt.UTC), dt.datetime(2024, 12, 2, 10, tzinfo=dt.UTC)
    s = MT5TerminalSimulator(server_tz="Europe/Athens", clock=lambda: summer.timestamp())
    s.add_symbol("EURUSD")
    s.initialize()
    for t in (summer, winter):
        s.push_tick("EURUSD", 1.1, 1.1001, int(t.timestamp() * 1000))
    got = s.copy_ticks_range(
        "EURUSD", dt.datetime(2024, 1, 1, tzinfo=dt.UTC), dt.datetime(2025, 1, 1, tzinfo=dt.UTC), -1
    )
    hours = [dt.datetime.fromtimestamp(int(ms) / 1000, dt.UTC).hour for ms in got["time_msc"]]
    assert hours == [13, 12]  # EEST is UTC+3, EET UTC+2
    assert s.symbol_info_tick("EURUSD").time == int(winter.timestamp()) + 7200


def test_the_simulator_is_not_on_the_production_import_path():
    import importlib.util

    assert importlib.util.find_spec("realtime.brokers.mt5_sim") is None


def test_a_deposit_currency_nothing_converts_to_the_account_currency_fails_at_connect():
    sim = MT5TerminalSimulator(currency="ABC")
    with pytest.raises(BrokerError, match="deposit currency ABC"):
        MT5Broker(sim, account_currency="USD").connect()
    MT5Broker(sim).connect()  # without an account currency the deposit currency is taken as is
