"""MT5Bridge over the real transport: a classic RPyC server hosting the simulator as MetaTrader5."""

from __future__ import annotations

import datetime as dt
import json
import time

import numpy as np
import pytest

from marketdata.mt5_bridge import NO_IPC, MT5Bridge, parse_address
from realtime.brokers import mt5_constants as c
from realtime.brokers.base import BrokerOutcomeUnknownError, OrderIntent
from realtime.brokers.mt5 import MT5Broker
from realtime.errors import BrokerUnavailableError
from tests.support.mt5_bridge_server import BridgeServer
from tests.support.mt5sim import MT5TerminalSimulator

T0_MS = 1_709_726_400_000
# Killing the server ends its client threads with socket errors: the point of those tests.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")


def eventually(check, timeout_s: float = 3.0) -> bool:
    """True once ``check()`` is (the bridge waits out its backoff before reconnecting)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def sim():
    s = MT5TerminalSimulator(balance=50_000)
    s.add_symbol("EURUSD")
    for i in range(5):
        s.push_tick("EURUSD", 1.10000 + i * 1e-5, 1.10010 + i * 1e-5, T0_MS + i * 1000)
    return s


@pytest.fixture
def server(sim):
    srv = BridgeServer(sim).start()
    yield srv
    srv.stop()


@pytest.fixture
def bridge(server):
    b = MT5Bridge(server.address, timeout_s=5.0, backoff_s=0.05, max_backoff_s=0.2)
    yield b
    b.close()


def test_parse_address():
    assert parse_address("mt5:8001") == ("mt5", 8001)
    assert parse_address("10.0.0.5") == ("10.0.0.5", 18812)
    with pytest.raises(ValueError, match="host:port"):
        parse_address("mt5:eighty")


def test_the_broker_trades_through_the_bridge(sim, bridge):
    broker = MT5Broker(bridge, magic=5)
    broker.connect()
    assert bridge.TRADE_ACTION_DEAL == c.TRADE_ACTION_DEAL  # constants come from the far module
    r = broker.submit(OrderIntent(1, "EURUSD", "buy", "market", 0.2, sl=1.09, tp=1.11))
    assert r.status == "filled" and r.price == pytest.approx(1.10014)
    [pos] = broker.positions()  # records are rebuilt locally, fields and all
    assert (pos.volume, pos.sl, pos.tp, pos.ref) == (0.2, 1.09, 1.11, 1)
    assert broker.fills_for(1).broker_deal_id == r.broker_deal_id
    ticks = bridge.copy_ticks_range(
        "EURUSD", dt.datetime(2024, 3, 6, tzinfo=dt.UTC), dt.datetime(2024, 3, 7, tzinfo=dt.UTC), -1
    )
    assert isinstance(ticks, np.ndarray) and list(ticks["time_msc"]) == [T0_MS + i * 1000 for i in range(5)]
    sent = bridge.order_send({"action": c.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": np.float64(0.1),
                              "type": c.ORDER_TYPE_SELL, "type_filling": c.ORDER_FILLING_IOC})  # fmt: skip
    assert sent.retcode == c.TRADE_RETCODE_DONE and sent.request.volume == 0.1  # numpy scalars cross too
    assert bridge.symbol_info("XAUUSD") is None and bridge.last_error()[0] == -4


def test_a_dead_bridge_answers_like_a_terminal_without_connection(sim, server, bridge):
    broker = MT5Broker(bridge)
    broker.connect()
    server.kill()
    assert not broker.ping()
    assert bridge.health()["connected"] is False and bridge.last_error()[0] == NO_IPC
    with pytest.raises(BrokerUnavailableError) as e:  # refused before it left: plainly not sent
        broker.submit(OrderIntent(1, "EURUSD", "buy", "market", 0.1))
    assert not isinstance(e.value, BrokerOutcomeUnknownError)
    assert sim.positions_get() == ()
    sim.shutdown()  # the bridge host restarted: its module must be initialised again
    server.start()
    assert eventually(broker.ping)  # reconnected after the backoff, and the login replayed
    assert bridge.reconnects == 1 and bridge.health()["connected"] and sim.connected


def test_a_bridge_lost_mid_order_is_unknown_and_executed_once(sim, server, bridge):
    broker = MT5Broker(bridge)
    broker.connect()
    server.drop_after["order_send"] = True
    with pytest.raises(BrokerOutcomeUnknownError, match="unknown"):
        broker.submit(OrderIntent(7, "EURUSD", "buy", "market", 0.3))
    server.start()
    assert eventually(broker.ping)
    found = broker.fills_for(7)  # the terminal did execute it, once
    assert found is not None and found.volume == 0.3
    assert len(sim.positions_get()) == 1 and sim.calls.count("order_send") == 1


def test_reconnects_back_off():
    clock = {"t": 0.0}
    attempts = []

    class Counting(MT5Bridge):
        def _open(self) -> None:
            attempts.append(clock["t"])
            raise ConnectionRefusedError("nothing listens")

    b = Counting("127.0.0.1:1", backoff_s=1.0, max_backoff_s=4.0, clock=lambda: clock["t"])
    for t in np.arange(0.0, 12.0, 0.25):
        clock["t"] = float(t)
        assert b.account_info() is None
    assert attempts == [0.0, 1.0, 3.0, 7.0, 11.0]  # 1, 2, 4, then capped at 4
    assert b.health()["down_for_s"] == pytest.approx(11.75)


def test_the_bridge_check_command(server, capsys):
    from marketdata.mt5_bridge import main

    assert main([server.address, "--timeout", "5"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["initialized"] and out["account"] == {"server": "Sim-Server", "currency": "USD"}
    server.kill()
    assert main([server.address, "--timeout", "5"]) == 1
