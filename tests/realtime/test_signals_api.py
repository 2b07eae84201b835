"""Signals over HTTP and WebSocket, model reloads, /ready, /metrics and the explain endpoint."""

from __future__ import annotations

import asyncio
import json
import queue
from collections.abc import AsyncIterator

import mlflow
from fastapi.testclient import TestClient

from marketdata.store import ParquetStore
from realtime.feeds.base import BarEvent
from realtime.main import create_app
from tests.realtime.conftest import ADMIN_KEY, DAYS, MODEL, make_user, settings_for

ADMIN = {"X-API-Key": ADMIN_KEY}


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
                bar["ts"] = bar["ts"] + __import__("pandas").Timedelta(days=1)
                feed.q.put(BarEvent("EURUSD", bar))
            msgs = [json.loads(ws.receive_text()) for _ in range(3)]
        assert [m["type"] for m in msgs] == ["signal"] * 3
        assert (
            msgs[-1]["features_ts"]
            == (bars["ts"].iloc[-1] + __import__("pandas").Timedelta(days=1)).isoformat()
        )
        latest = c.get("/api/v1/signals/EURUSD", headers=viewer).json()
        assert latest["prob_up"] == msgs[-1]["prob_up"] and latest["model_version"] == "1"
        assert c.get("/api/v1/signals/EURUSD/history?limit=0", headers=viewer).status_code == 422
        text = c.get("/metrics").text
        assert "realtime_signals_total{signal=" in text and "realtime_model_version" in text
        assert (
            'realtime_request_seconds_count{method="GET",route="/api/v1/signals/{symbol}",status="200"}'
            in text
        )
        assert "realtime_feed_lag_seconds" in text
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


def test_reload_follows_the_alias_and_keeps_the_old_model_on_failure(ledger_dir):
    client = mlflow.MlflowClient(f"sqlite:///{ledger_dir / 'mlflow.db'}")
    v1 = client.get_model_version_by_alias(MODEL, "champion")
    client.set_registered_model_alias(MODEL, "rt-reload", str(v1.version))
    try:
        with TestClient(create_app(settings_for(ledger_dir, model_alias="rt-reload"))) as c:
            assert c.get("/health").json()["model_version"] == str(v1.version)
            assert c.post("/admin/reload", headers=ADMIN).json() == {
                "reloaded": False,
                "version": str(v1.version),
                "error": None,
            }
            v2 = client.create_model_version(MODEL, source=v1.source, run_id=v1.run_id)
            client.set_registered_model_alias(MODEL, "rt-reload", str(v2.version))
            r = c.post("/admin/reload", headers=ADMIN).json()
            assert r["reloaded"] and r["version"] == str(v2.version)
            assert c.get("/health").json()["model_version"] == str(v2.version)
            broken = client.create_model_version(MODEL, source=str(ledger_dir / "no-such-model"))
            client.set_registered_model_alias(MODEL, "rt-reload", str(broken.version))
            r = c.post("/admin/reload", headers=ADMIN).json()
            assert not r["reloaded"] and r["version"] == str(v2.version) and "no model at" in r["error"]
            assert c.get("/health").json()["model_version"] == str(v2.version)
            assert c.get("/ready").json()["model_reload_error"] == r["error"]
            assert c.get("/api/v1/signals/EURUSD", headers=ADMIN).status_code == 200
    finally:
        client.delete_registered_model_alias(MODEL, "rt-reload")


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
