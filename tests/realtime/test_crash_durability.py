"""The service in its own process, killed with SIGKILL while orders stream in: every order it
acknowledged is in the ledger after the restart, none twice, and the paper account equals the
ledger; 50 concurrent submissions of one client_order_id create one order. Both on a SQLite
ledger and on PostgreSQL (a throwaway schema)."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.realtime.conftest import ADMIN_KEY
from tests.realtime.test_workers import _serve

ADMIN = {"X-API-Key": ADMIN_KEY}
UNLIMITED = {"REALTIME_RATE_LIMIT_PER_S": "10000", "REALTIME_RATE_LIMIT_BURST": "10000"}


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """The service's environment for its ledger: the default SQLite file, or PostgreSQL."""
    if request.param == "sqlite":
        return UNLIMITED
    return UNLIMITED | {
        "REALTIME_LEDGER_URL": request.getfixturevalue("postgres_dsn"),
        "REALTIME_LEDGER_SCHEMA": request.getfixturevalue("pg_schema"),
    }


def _order(cid: str) -> dict[str, object]:
    return {"symbol": "EURUSD", "side": "buy", "volume": 0.01, "client_order_id": cid}


def _all_orders(port: int) -> list[dict[str, object]]:
    r = httpx.get(f"http://127.0.0.1:{port}/api/v1/orders?limit=1000", headers=ADMIN, timeout=30)
    assert r.status_code == 200, r.text
    return list(r.json())


def test_concurrent_retries_make_one_order(ledger_dir: Path, ledger_env: dict[str, str]) -> None:
    with _serve(ledger_dir, 1, **ledger_env) as (port, _proc):
        body = _order("same-" + uuid.uuid4().hex)
        url = f"http://127.0.0.1:{port}/api/v1/orders"
        with ThreadPoolExecutor(50) as pool:
            answers = list(
                pool.map(lambda _: httpx.post(url, json=body, headers=ADMIN, timeout=60), range(50))
            )
        assert {r.status_code for r in answers} <= {200, 201}
        assert len({r.json()["id"] for r in answers}) == 1
        assert sum(o["client_order_id"] == body["client_order_id"] for o in _all_orders(port)) == 1


def test_no_acknowledged_order_is_lost_across_kill_9(ledger_dir: Path, ledger_env: dict[str, str]) -> None:
    acked: list[str] = []
    for _round in range(3):
        with _serve(ledger_dir, 1, **ledger_env) as (port, proc):
            stop = threading.Event()

            def send(stop: threading.Event = stop, port: int = port) -> None:
                with httpx.Client(timeout=10) as http:
                    while not stop.is_set():
                        cid = uuid.uuid4().hex
                        try:
                            r = http.post(
                                f"http://127.0.0.1:{port}/api/v1/orders", json=_order(cid), headers=ADMIN
                            )
                        except httpx.HTTPError:
                            return  # the server died under us: this one was never acknowledged
                        if r.status_code == 201:
                            acked.append(cid)

            senders = [threading.Thread(target=send) for _ in range(4)]
            for t in senders:
                t.start()
            before = len(acked)
            while len(acked) < before + 40:  # let a few dozen orders through, then SIGKILL
                threading.Event().wait(0.05)
            proc.kill()
            proc.wait(30)
            stop.set()
            for t in senders:
                t.join(30)
    with _serve(ledger_dir, 1, **ledger_env) as (port, _proc):
        orders = _all_orders(port)
        ids = [o["client_order_id"] for o in orders]
        assert len(ids) == len(set(ids)), "an order was booked twice"
        missing = set(acked) - set(ids)
        assert not missing, f"{len(missing)} of {len(acked)} acknowledged orders lost"
        filled = [o for o in orders if o["client_order_id"] in set(acked)]
        assert all(o["status"] == "filled" for o in filled)
        positions = httpx.get(f"http://127.0.0.1:{port}/api/v1/positions", headers=ADMIN, timeout=30).json()
        lots = round(sum(p["volume"] for p in positions), 8)
        assert lots == round(0.01 * len([o for o in orders if o["status"] == "filled"]), 8)
        print(f"kill -9 x3: {len(acked)} acknowledged orders, 0 lost, 0 duplicated")
