"""Signals over HTTP and WebSocket, model reloads, /ready, /metrics and the explain endpoint."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import queue
import re
from collections.abc import AsyncIterator

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from marketdata.store import ParquetStore
from ml.families import make_classifier
from ml.features import DEFAULT_FEATURE_SET
from ml.models import SignalModel
from realtime.feeds.base import BarEvent
from realtime.inference.model import LoadedModel
from realtime.main import create_app
from tests.realtime.conftest import ADMIN_KEY, DAYS, MODEL, make_user, settings_for

ADMIN = {"X-API-Key": ADMIN_KEY}


def sample(text: str, metric: str, /, **labels: str) -> float | None:
    """The value of one Prometheus sample, labels in any order; None when absent."""
    for m in re.finditer(rf"^{metric}\{{(.*)\}} (\S+)$", text, re.M):
        if dict(re.findall(r'(\w+)="([^"]*)"', m.group(1))) == labels:
            return float(m.group(2))
    return None


class ThreadQueueFeed:
    """A feed the test thread pushes into (the app runs on TestClient's own event loop)."""

    name = "test-queue"

    def __init__(self) -> None:
        self.q: queue.Queue[BarEvent] = queue.Queue()

    async def stream(self) -> AsyncIterator[BarEvent]:
        while True:
            try:
                yield await asyncio.to_thread(self.q.get, True, 0.05)
            except queue.Empty:
                continue


def test_history_websocket_push_and_metrics(ledger_dir):
    feed = ThreadQueueFeed()
    bars = ParquetStore(ledger_dir / "lake").read_bars("EURUSD", DAYS[-1], DAYS[-1])
    with TestClient(create_app(settings_for(ledger_dir, replay_bars=200), feed=feed)) as c:
        viewer = make_user(c, "wsviewer", "viewer")
        hist = c.get("/api/v1/signals/EURUSD/history?limit=5", headers=viewer).json()
        assert len(hist) == 5 and hist[-1]["features_ts"].startswith(str(DAYS[-1]))
        with c.websocket_connect("/ws/signals", headers=viewer) as ws:
            # Re-feeding the day's last bars with later timestamps produces fresh signals.
            for i in range(3):
                bar = bars.iloc[-3 + i].to_dict()
                bar["ts"] = bar["ts"] + pd.Timedelta(days=1)
                feed.q.put(BarEvent("EURUSD", bar))
            msgs = [json.loads(ws.receive_text()) for _ in range(3)]
        assert [m["type"] for m in msgs] == ["signal"] * 3
        assert (
            msgs[-1]["features_ts"]
            == (bars["ts"].iloc[-1] + pd.Timedelta(days=1)).isoformat()
        )
        latest = c.get("/api/v1/signals/EURUSD", headers=viewer).json()
        assert latest["prob_up"] == msgs[-1]["prob_up"] and latest["model_version"] == "1"
        assert c.get("/api/v1/signals/EURUSD/history?limit=0", headers=viewer).status_code == 422
        text = c.get("/metrics").text
        now = dt.datetime.now(dt.UTC)
        signals = sample(text, "realtime_signals_total", symbol="EURUSD", signal=str(msgs[-1]["signal"]))
        assert signals is not None and signals >= 1
        assert sample(text, "realtime_model_version", name=MODEL, alias="champion") == 1.0
        route = "/api/v1/signals/{symbol}"
        assert sample(text, "realtime_request_seconds_count", method="GET", route=route, status="200") == 1.0
        # The newest quote is the last fed bar's close, a minute after its open time.
        newest = (bars["ts"].iloc[-1] + pd.Timedelta(days=1, minutes=1)).to_pydatetime()
        lag = sample(text, "realtime_feed_lag_seconds", symbol="EURUSD")
        assert lag == pytest.approx((now - newest).total_seconds(), abs=5.0)
        ready = c.get("/ready").json()
        assert ready["ready"] and ready["checks"] == {
            "model": True,
            "feed": True,
            "broker": True,
            "ledger": True,
        }


def test_websocket_refuses_unknown_keys(client):
    import pytest
    from starlette.websockets import WebSocketDisconnect

    with (
        pytest.raises(WebSocketDisconnect) as e,
        client.websocket_connect("/ws/signals?api_key=nope-nope-nope"),
    ):
        pass
    assert e.value.code == 1008


def test_explain_without_a_provider_is_a_clear_503(ledger_dir, monkeypatch):
    for var in ("OPENAI_API_KEY", "DEEPSEEK_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    with TestClient(create_app(settings_for(ledger_dir, explain_rate_limit_per_min=2))) as c:
        r = c.post("/api/v1/signals/EURUSD/explain", headers=ADMIN)
        assert r.status_code == 503 and r.json()["detail"].startswith("LLM explanations are unavailable")
        assert c.post("/api/v1/signals/EURUSD/explain", headers=ADMIN).status_code == 503
        r = c.post("/api/v1/signals/EURUSD/explain", headers=ADMIN)
        assert r.status_code == 429 and "Retry-After" in r.headers
        # Trading is untouched by the LLM being down.
        assert c.get("/api/v1/signals/EURUSD", headers=ADMIN).status_code == 200


def test_explain_through_a_provider_caches_and_reports_the_hit_rate(ledger_dir, monkeypatch):
    from tests.support.openai_server import LocalOpenAICompatServer

    key = "sk-explain-" + "k" * 24
    with LocalOpenAICompatServer(slow_s=1.0) as server:
        monkeypatch.setenv("ALPHAFORGE_OPENAI_API_KEY", key)
        monkeypatch.setenv("ALPHAFORGE_OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("ALPHAFORGE_OPENAI_MODEL", "gpt-local")
        with TestClient(create_app(settings_for(ledger_dir, explain_rate_limit_per_min=10))) as c:
            first = c.post("/api/v1/signals/EURUSD/explain", headers=ADMIN)
            assert first.status_code == 200, first.text
            second = c.post("/api/v1/signals/EURUSD/explain", headers=ADMIN)
            assert first.json()["cached"] is False and second.json()["cached"] is True
            assert second.json()["rationale"] == first.json()["rationale"]
            assert server.calls() == 1  # the second answer came from the cache
            text = c.get("/metrics").text
            assert "alphaforge_llm_cache_hits_total 1.0" in text
            assert "alphaforge_llm_cache_hit_rate 0.5" in text
            assert key not in text


def test_ready_says_so_when_the_model_cannot_predict(client):
    assert client.get("/ready").json()["checks"]["model"] is True
    engine = client.app.state.svc.engine
    # A real model object that was never fitted: loaded, but it cannot answer.
    unfitted = SignalModel(make_classifier("logreg"), DEFAULT_FEATURE_SET, "logreg", 0.52)
    engine.set_model(LoadedModel(unfitted, MODEL, "99", "champion"))
    r = client.get("/ready")
    assert r.status_code == 503 and r.json()["checks"]["model"] is False


def test_order_and_fill_events_reach_only_their_owner_and_admins(ledger_dir):
    feed = ThreadQueueFeed()
    bars = ParquetStore(ledger_dir / "lake").read_bars("EURUSD", DAYS[-1], DAYS[-1])
    with TestClient(create_app(settings_for(ledger_dir, replay_bars=200), feed=feed)) as c:
        alice, bob = make_user(c, "alice", "trader"), make_user(c, "bob", "trader")
        viewer = make_user(c, "vera", "viewer")
        with (
            c.websocket_connect("/ws/signals", headers=alice) as ws_alice,
            c.websocket_connect("/ws/signals", headers=bob) as ws_bob,
            c.websocket_connect("/ws/signals", headers=viewer) as ws_viewer,
            c.websocket_connect("/ws/signals", headers=ADMIN) as ws_admin,
        ):
            order = {"symbol": "EURUSD", "side": "buy", "volume": 0.1, "client_order_id": "ws-own-1"}
            r = c.post("/api/v1/orders", json=order, headers=alice)
            assert r.status_code == 201, r.text
            # Then a signal, which everyone gets: it marks the end of what each client receives.
            bar = bars.iloc[-1].to_dict()
            bar["ts"] = bar["ts"] + pd.Timedelta(days=1)
            feed.q.put(BarEvent("EURUSD", bar))
            clients = {"alice": ws_alice, "bob": ws_bob, "viewer": ws_viewer, "admin": ws_admin}
            got = {name: _until_signal(ws) for name, ws in clients.items()}
        order_id = r.json()["id"]
        assert [m["type"] for m in got["alice"]] == ["fill", "signal"]
        assert got["alice"][0]["order_id"] == order_id
        assert [m["type"] for m in got["admin"]] == ["fill", "signal"]
        assert [m["type"] for m in got["bob"]] == ["signal"]
        assert [m["type"] for m in got["viewer"]] == ["signal"]


def _until_signal(ws) -> list[dict]:
    out: list[dict] = []
    while not out or out[-1]["type"] != "signal":
        out.append(json.loads(ws.receive_text()))
    return out


def test_hub_routes_private_events_by_owner():
    from realtime.events.hub import SignalHub, Subscriber

    async def run() -> dict[str, list[str]]:
        hub = SignalHub()
        hub.loop = asyncio.get_running_loop()
        queues = {
            "u1": hub.subscribe(Subscriber(1)),
            "u2": hub.subscribe(Subscriber(2)),
            "admin": hub.subscribe(Subscriber(3, admin=True)),
            "anonymous": hub.subscribe(),
        }
        hub.publish("order", {"id": 7, "user_id": 1, "symbol": "EURUSD", "status": "failed"})
        hub.publish("fill", {"order_id": 8, "user_id": 2, "symbol": "EURUSD"})  # owner in payload
        hub.publish("order", {"id": 9, "symbol": "EURUSD", "status": "failed"})  # owner unknown
        hub.publish("signal", {"symbol": "EURUSD", "signal": 1})
        out: dict[str, list[str]] = {}
        for name, q in queues.items():
            out[name] = []
            while not q.empty():
                m = json.loads(q.get_nowait())
                out[name].append(f"{m['type']}:{m.get('id', m.get('order_id', ''))}")
        return out

    got = asyncio.run(run())
    assert got["u1"] == ["order:7", "signal:"]
    assert got["u2"] == ["fill:8", "signal:"]
    assert got["admin"] == ["order:7", "fill:8", "order:9", "signal:"]
    assert got["anonymous"] == ["signal:"]
