"""Auto-trading follows the signal with its own positions only, through the real app."""

from __future__ import annotations

import datetime as dt
import uuid

from fastapi.testclient import TestClient

from realtime.inference.signals import Signal
from realtime.main import create_app
from realtime.services import Services
from realtime.trading.autotrader import AUTO
from tests.realtime.conftest import make_user, settings_for

TS = dt.datetime(2024, 3, 7, 9, tzinfo=dt.UTC)


def signal(direction: int, minutes: int) -> Signal:
    return Signal("EURUSD", direction, 0.5 + 0.2 * direction, TS + dt.timedelta(minutes=minutes), "1", {})


def auto_trade(svc: Services, sig: Signal) -> None:
    """Hand ``sig`` to the app's auto-trader, as the signal engine's listener does."""
    svc.auto_trader.on_signal(sig)


def test_auto_trading_opens_flips_and_never_touches_a_traders_positions(ledger_dir):
    cfg = settings_for(ledger_dir, auto_trade_symbols=["EURUSD"], auto_trade_lots=0.2)
    with TestClient(create_app(cfg)) as c:
        svc, tr = c.app.state.svc, make_user(c, "tina", "trader")
        manual = {}
        for side in ("buy", "sell"):  # a trader's positions on both sides of the auto-traded symbol
            body = {"symbol": "EURUSD", "side": side, "volume": 0.5, "client_order_id": uuid.uuid4().hex}
            assert c.post("/api/v1/orders", json=body, headers=tr).status_code == 201
        manual = {p.id: p for p in svc.ledger.positions()}

        def auto_open():
            return [p for p in svc.ledger.positions() if p.id not in manual]

        auto_trade(svc, signal(-1, 0))  # open short
        [short] = auto_open()
        assert (short.side, short.volume) == ("sell", 0.2)
        assert svc.ledger.get_order(short.order_id).user_id == AUTO.user_id
        auto_trade(svc, signal(-1, 1))  # same direction: already short, nothing more
        assert auto_open() == [short]
        auto_trade(svc, signal(0, 2))  # flat signal: flat, as in the evaluation backtest
        assert auto_open() == []
        assert svc.ledger.get_position(short.id).status == "closed"
        auto_trade(svc, signal(-1, 3))  # short again
        [short] = auto_open()
        auto_trade(svc, signal(1, 4))  # reversal: close the short, open a long
        [long] = auto_open()
        assert (long.side, long.volume) == ("buy", 0.2)
        assert svc.ledger.get_position(short.id).status == "closed"
        auto_trade(svc, signal(-1, 5))  # and back
        [short2] = auto_open()
        assert short2.side == "sell" and svc.ledger.get_position(long.id).status == "closed"
        # The trader's positions, long and short, went through every flip untouched.
        for pid, before in manual.items():
            assert svc.ledger.get_position(pid) == before


def test_auto_trading_ignores_symbols_not_configured(ledger_dir):
    with TestClient(create_app(settings_for(ledger_dir))) as c:
        svc = c.app.state.svc
        auto_trade(svc, signal(1, 0))
        assert svc.ledger.positions() == [] and svc.ledger.list_orders() == []
