"""WebSocket limits: client messages are read, sockets capped per user and in all, queues bounded."""

from __future__ import annotations

import asyncio
import time

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from realtime.events.hub import HubFullError, SignalHub, Subscriber
from realtime.main import create_app
from tests.realtime.conftest import make_user, metric_sample, settings_for, wait_for


def _refusal(c: TestClient, headers: dict[str, str]) -> tuple[int, str]:
    with pytest.raises(WebSocketDisconnect) as exc, c.websocket_connect("/ws/signals", headers=headers) as ws:
        ws.receive_text()
    return exc.value.code, exc.value.reason


def test_websockets_are_capped_per_user_and_in_all(ledger_dir):
    with TestClient(create_app(settings_for(ledger_dir, ws_max_per_key=2, ws_max_total=3))) as c:
        svc = c.app.state.svc
        ann, bob, cat = (make_user(c, name, "viewer") for name in ("ann", "bob", "cat"))
        with c.websocket_connect("/ws/signals", headers=ann), c.websocket_connect("/ws/signals", headers=ann):
            code, reason = _refusal(c, ann)
            assert code == 1008 and "too many WebSockets for this user" in reason
            with c.websocket_connect("/ws/signals", headers=bob) as ws_bob:
                code, reason = _refusal(c, cat)  # cat has none, but the server is full
                assert code == 1013 and "too many WebSockets on this server" in reason
                svc.hub.publish("signal", {"symbol": "EURUSD", "n": 1})
                assert '"n": 1' in ws_bob.receive_text()  # the admitted ones still work
        assert wait_for(lambda: svc.hub.clients == 0, 5)
        with c.websocket_connect("/ws/signals", headers=cat) as ws:  # closed ones free their places
            svc.hub.publish("signal", {"symbol": "EURUSD", "n": 2})
            assert '"n": 2' in ws.receive_text()
        text = c.get("/metrics").text
        assert metric_sample(text, "realtime_ws_refused", cap="user") == 1
        assert metric_sample(text, "realtime_ws_refused", cap="total") == 1


def test_client_messages_are_read_and_pings_answered(ledger_dir):
    with TestClient(create_app(settings_for(ledger_dir))) as c:
        svc = c.app.state.svc
        viewer = make_user(c, "vic", "viewer")
        with c.websocket_connect("/ws/signals", headers=viewer) as ws:
            for _ in range(50):
                ws.send_text("x" * 1000)  # read and discarded
            ws.send_text("ping")
            time.sleep(0.3)
            svc.hub.publish("signal", {"symbol": "EURUSD", "n": 1})
            assert ws.receive_json() == {"type": "pong"}
            assert '"n": 1' in ws.receive_text()
        # An idle client that leaves is forgotten at once, not at the next push.
        assert wait_for(lambda: svc.hub.clients == 0, 5)


def test_a_slow_clients_queue_is_bounded_and_its_losses_counted():
    async def run() -> tuple[int, int]:
        hub = SignalHub(queue_size=4, max_per_user=1, max_total=10)
        hub.loop = asyncio.get_running_loop()
        q = hub.subscribe(Subscriber(1))
        with pytest.raises(HubFullError):
            hub.subscribe(Subscriber(1))
        for i in range(10):
            hub.publish("signal", {"n": i})
        return q.qsize(), hub.dropped

    size, dropped = asyncio.run(run())
    assert (size, dropped) == (4, 6)
