"""A terminal on EET/EEST server time: the broker, the live feed and warm-up all see UTC."""

from __future__ import annotations

import datetime as dt

import pytest

from marketdata.mt5_utc import UTCTerminal
from realtime.brokers.base import OrderIntent
from realtime.brokers.mt5 import MT5Broker
from realtime.feeds.mt5_feed import MT5TickFeed, recent_bars
from realtime.services import make_broker
from tests.realtime.conftest import settings_for
from tests.support.mt5sim import MT5TerminalSimulator

NOW = dt.datetime(2024, 7, 15, 12, 0, 30, tzinfo=dt.UTC)  # EEST: the server shows 15:00:30


@pytest.fixture
def sim():
    s = MT5TerminalSimulator(server_tz="Europe/Athens", clock=NOW.timestamp)
    s.add_symbol("EURUSD")
    start = NOW - dt.timedelta(minutes=10)
    for i in range(20):  # one tick every 30 s over the last ten minutes
        t = start + dt.timedelta(seconds=30 * i)
        s.push_tick("EURUSD", 1.1 + i * 1e-5, 1.1001 + i * 1e-5, int(t.timestamp() * 1000))
    s.initialize()
    return s


def test_quotes_ticks_and_bars_come_back_in_utc(sim):
    raw = sim.symbol_info_tick("EURUSD")
    assert raw.time_msc == int((NOW - dt.timedelta(seconds=30)).timestamp() * 1000) + 3 * 3_600_000
    broker = MT5Broker(UTCTerminal(sim, "Europe/Athens"))
    assert broker.quote("EURUSD").ts == NOW - dt.timedelta(seconds=30)
    feed = MT5TickFeed(broker.market_data, ["EURUSD"], since=NOW - dt.timedelta(minutes=2))
    quotes = feed.poll()
    assert [q.ts for q in quotes] == [NOW - dt.timedelta(seconds=30 * k) for k in range(4, 0, -1)]
    bars = recent_bars(broker.market_data, "EURUSD", 5)
    assert list(bars["ts"]) == [NOW.replace(second=0) - dt.timedelta(minutes=k) for k in range(5, 0, -1)]


def test_the_deal_window_is_asked_in_server_time(sim):
    broker = MT5Broker(UTCTerminal(sim, "Europe/Athens"))
    r = broker.submit(OrderIntent(3, "EURUSD", "buy", "market", 0.1))
    assert [d.time for d in sim.history_deals_get(ticket=int(r.broker_order_id))] == [
        int(NOW.timestamp()) + 10_800
    ]
    window = (NOW - dt.timedelta(seconds=1), NOW + dt.timedelta(seconds=1))  # UTC
    [deal] = broker.market_data.history_deals_get(*window)
    assert deal.time == int(NOW.timestamp()) and str(deal.ticket) == r.broker_deal_id
    assert sim.history_deals_get(*window) == ()  # asked raw, the same window misses by three hours


def test_the_setting_wraps_the_terminal(sim, tmp_path):
    broker = make_broker(settings_for(tmp_path, broker="mt5", mt5_server_tz="Europe/Athens"), sim)
    assert broker.quote("EURUSD").ts == NOW - dt.timedelta(seconds=30)
    plain = make_broker(settings_for(tmp_path, broker="mt5"), sim)
    assert plain.quote("EURUSD").ts == NOW - dt.timedelta(seconds=30) + dt.timedelta(hours=3)
