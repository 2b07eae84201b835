"""Per-user exposure limits beside the desk-wide ones; resting orders count against their owner,
so one trader's limit orders cannot lock every other trader out."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from realtime.brokers.base import Quote
from realtime.main import create_app
from tests.realtime.conftest import make_user, settings_for


def _order(**kw: object) -> dict[str, object]:
    return {"symbol": "EURUSD", "side": "buy", "volume": 1.0, "client_order_id": uuid.uuid4().hex} | kw


def test_one_traders_resting_orders_do_not_lock_out_the_desk(ledger_dir: Path) -> None:
    cfg = settings_for(
        ledger_dir,
        max_total_exposure_lots=6.0,
        max_position_lots=6.0,
        max_user_exposure_lots=3.0,
        max_user_position_lots=3.0,
    )
    with TestClient(create_app(cfg)) as c:
        c.app.state.svc.desk.on_quote(Quote("EURUSD", 1.1000, 1.1001, dt.datetime.now(dt.UTC)))
        alice, bob = make_user(c, "alice", "trader"), make_user(c, "bob", "trader")
        # Alice rests buy limits far below the market: no margin used, but they count as hers.
        codes = [
            c.post("/api/v1/orders", json=_order(type="limit", price=1.0), headers=alice).status_code
            for _ in range(5)
        ]
        assert codes == [201, 201, 201, 403, 403]
        r = c.post("/api/v1/orders", json=_order(type="limit", price=1.0), headers=alice)
        assert r.status_code == 403 and "per-user limit" in r.json()["detail"]
        # Bob still has room: the desk holds 3 of its 6 lots.
        assert c.post("/api/v1/orders", json=_order(), headers=bob).status_code == 201
        assert c.post("/api/v1/orders", json=_order(volume=2.0), headers=bob).status_code == 201
        # Now the desk-wide limit binds for everyone.
        r = c.post(
            "/api/v1/orders", json=_order(volume=0.5, side="sell"), headers=make_user(c, "cy", "trader")
        )
        assert r.status_code == 403 and "total exposure" in r.json()["detail"]


@pytest.mark.parametrize(
    "bad",
    [
        {"max_order_lots": -1.0},
        {"max_total_exposure_lots": 0.0},
        {"leverage": 0.0},
        {"max_drawdown": 1.5},
        {"max_user_exposure_lots": -5.0},
        {"paper_balance": -1.0},
        {"commission_per_lot": -3.5},
        {"rate_limit_burst": 0},
    ],
)
def test_risk_settings_are_validated(ledger_dir: Path, bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        settings_for(ledger_dir, **bad)
