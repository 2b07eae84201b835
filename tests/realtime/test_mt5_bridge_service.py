"""The service configured only by environment variables, trading through the MT5 bridge.

A classic RPyC server hosts the terminal simulator as MetaTrader5; the service trades through
it (market orders, a partial fill, a take-profit the terminal executes), loses the bridge in
the middle of an order, reconnects, is restarted, and ends with its ledger equal to the terminal.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from realtime.main import create_app
from tests.realtime.conftest import ADMIN_KEY, JWT_SECRET
from tests.support.mt5_bridge_server import BridgeServer
from tests.support.mt5sim import SYMBOL_FILLING_IOC, MT5TerminalSimulator

ADMIN = {"X-API-Key": ADMIN_KEY}
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")


def wait_for(check: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def quote(sim: MT5TerminalSimulator, bid: float) -> None:
    sim.push_tick("EURUSD", bid, round(bid + 0.0001, 5), int(time.time() * 1000))


@pytest.fixture
def terminal():
    sim = MT5TerminalSimulator(balance=100_000, fee_per_deal=0.25)
    sim.add_symbol("EURUSD", filling_mode=SYMBOL_FILLING_IOC)  # IOC only: a thin book fills in part
    quote(sim, 1.10000)
    server = BridgeServer(sim).start()
    yield sim, server
    server.stop()


@pytest.fixture
def env_only(ledger_dir: Path, terminal, monkeypatch) -> None:
    """Every setting from REALTIME_* variables; nothing passed to create_app."""
    _, server = terminal
    monkeypatch.chdir(ledger_dir)  # no stray .env file
    env = {
        "API_KEY": ADMIN_KEY, "JWT_SECRET": JWT_SECRET, "DATA_DIR": str(ledger_dir),
        "MLFLOW_TRACKING_URI": f"sqlite:///{ledger_dir / 'mlflow.db'}", "SYMBOLS": json.dumps(["EURUSD"]),
        "BROKER": "mt5", "MT5_BRIDGE": server.address, "MT5_BRIDGE_TIMEOUT_S": "5",
        "MT5_BRIDGE_BACKOFF_S": "0.1", "MT5_BRIDGE_MAX_BACKOFF_S": "0.5", "BROKER_SYNC_S": "0.2",
        "RATE_LIMIT_PER_S": "1000", "RATE_LIMIT_BURST": "1000",
    }  # fmt: skip
    for k, v in env.items():
        monkeypatch.setenv(f"REALTIME_{k}", v)


def order(c: TestClient, cid: str, volume: float, **kw) -> dict:
    r = c.post("/api/v1/orders", json={"symbol": "EURUSD", "side": "buy", "volume": volume,
                                       "client_order_id": cid} | kw, headers=ADMIN)  # fmt: skip
    assert r.status_code in (201, 503), r.text
    return r.json()


def orders_by_cid(c: TestClient) -> dict[str, dict]:
    return {o["client_order_id"]: o for o in c.get("/api/v1/orders?limit=1000", headers=ADMIN).json()}


def metric(c: TestClient, name: str) -> float:
    line = next(x for x in c.get("/metrics").text.splitlines() if x.startswith(name + " "))
    return float(line.split()[1])


def test_trading_through_the_bridge_survives_losing_it_mid_order(env_only, terminal):
    sim, server = terminal
    with TestClient(create_app()) as c:
        ready = c.get("/ready").json()
        assert ready["checks"]["bridge"] is True and ready["bridge"]["connected"] is True
        assert metric(c, "realtime_mt5_bridge_up") == 1.0

        plain = order(c, "plain", 0.2)
        assert plain["status"] == "filled" and plain["fill_price"] == pytest.approx(1.1001)
        sim.liquidity["EURUSD"] = 0.3  # the book is thin: IOC fills 0.3 of 1.0 and cancels the rest
        part = order(c, "part", 1.0)
        sim.liquidity.clear()
        assert part["status"] == "filled"
        tp = order(c, "with-tp", 0.1, tp=1.1010, sl=1.0950)
        assert tp["status"] == "filled"
        quote(sim, 1.10100)  # the terminal closes at the take-profit on its own
        wait_for(lambda: len(c.app.state.svc.ledger.positions()) == 2)  # the sync booked the close

        server.drop_after["order_send"] = True  # executed at the terminal, answer lost
        assert "unknown" in order(c, "lost", 0.4)["detail"]  # 503, and the ledger keeps it open
        lost = orders_by_cid(c)["lost"]
        assert lost["status"] == "unknown"
        assert c.get("/ready").status_code == 503
        assert c.get("/ready").json()["checks"]["bridge"] is False
        assert metric(c, "realtime_mt5_bridge_up") == 0.0
        down = order(c, "while-down", 0.1)  # refused before it left: failed, never sent
        assert down["detail"] and orders_by_cid(c)["while-down"]["status"] == "failed"

        server.start()
        wait_for(lambda: c.get("/ready").status_code == 200)
        wait_for(lambda: orders_by_cid(c)["lost"]["status"] == "filled")
        assert metric(c, "realtime_mt5_bridge_reconnects") >= 1
        again = c.post("/api/v1/orders", json={"symbol": "EURUSD", "side": "buy", "volume": 0.4,
                                                "client_order_id": "lost"}, headers=ADMIN)  # fmt: skip
        assert again.status_code == 200 and again.json()["id"] == lost["id"]  # a retry sends nothing

    with TestClient(create_app()) as c:  # a restart reconciles against the terminal
        svc = c.app.state.svc
        book = {o["client_order_id"]: o["status"] for o in orders_by_cid(c).values()}
        [tp_deal] = [d.ticket for d in sim._deals if d.comment.startswith("[tp")]
        assert book == {"plain": "filled", "part": "filled", "with-tp": "filled", "lost": "filled",
                        "while-down": "failed", f"broker-deal-{tp_deal}": "filled"}  # fmt: skip
        ledger = {(p.broker_position_id, round(p.volume, 8)) for p in svc.ledger.positions()}
        held = {(str(p.ticket), round(p.volume, 8)) for p in sim.positions_get()}
        assert ledger == held and len(held) == 3  # plain 0.2, part 0.3, lost 0.4
        sent = [d.comment for d in sim._deals if d.comment.startswith("af:")]
        assert len(sent) == len(set(sent)) == 4  # one deal per order: nothing lost, nothing twice
