"""Feed hygiene: future-dated ticks, junk symbols and junk HTTP methods must not corrupt state
or grow /metrics (audit: one tick dated tomorrow froze the feed while /ready said OK)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import queue
import time
import uuid

import pytest
from fastapi.testclient import TestClient

from realtime.brokers.base import Quote
from realtime.errors import RiskRejectedError
from realtime.main import create_app
from realtime.trading.risk import RiskLimits, RiskManager
from tests.realtime.conftest import ADMIN_KEY, metric_sample, settings_for, wait_for

ADMIN = {"X-API-Key": ADMIN_KEY}


class QuoteQueueFeed:
    """A feed the test thread pushes quotes into."""

    name = "test-quotes"

    def __init__(self) -> None:
        self.q: queue.Queue[Quote] = queue.Queue()

    async def stream(self):
        while True:
            try:
                yield await asyncio.to_thread(self.q.get, True, 0.05)
            except queue.Empty:
                continue


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def test_a_future_tick_is_dropped_and_real_ticks_keep_flowing(ledger_dir):
    feed = QuoteQueueFeed()
    with TestClient(create_app(settings_for(ledger_dir), feed=feed)) as c:
        svc, st = c.app.state.svc, c.app.state.svc.feed_status
        feed.q.put(Quote("EURUSD", 1.1, 1.1001, _now()))
        feed.q.put(Quote("EURUSD", 1.5, 1.5001, _now() + dt.timedelta(days=1)))  # one bad tick
        feed.q.put(Quote("EURUSD", 1.2, 1.2001, _now()))
        feed.q.put(Quote("EURUSD", 1.3, 1.3001, _now() + dt.timedelta(seconds=1)))  # within tolerance
        assert wait_for(lambda: st.events == 4), st
        assert st.dropped == 1 and st.running
        assert svc.broker.quote("EURUSD").bid == pytest.approx(1.3)
        assert st.last_quote["EURUSD"] <= _now() + dt.timedelta(seconds=5)
        text = c.get("/metrics").text
        dropped = "realtime_feed_dropped_ticks_total"
        assert metric_sample(text, dropped, symbol="EURUSD", reason="future") == 1.0
        assert metric_sample(text, dropped, symbol="EURUSD", reason="late") is None
        lag = metric_sample(text, "realtime_feed_lag_seconds", symbol="EURUSD")
        assert lag is not None and lag > -5.0


def test_the_tolerance_is_a_setting(ledger_dir):
    feed = QuoteQueueFeed()
    with TestClient(create_app(settings_for(ledger_dir, max_tick_future_s=120.0), feed=feed)) as c:
        st = c.app.state.svc.feed_status
        feed.q.put(Quote("EURUSD", 1.1, 1.1001, _now() + dt.timedelta(seconds=60)))
        assert wait_for(lambda: st.events == 1), st
        assert st.dropped == 0


def test_replayed_history_is_not_dropped_as_future(ledger_dir):
    feed = QuoteQueueFeed()
    with TestClient(create_app(settings_for(ledger_dir), feed=feed)) as c:
        st = c.app.state.svc.feed_status
        t0 = dt.datetime(2024, 3, 5, 10, tzinfo=dt.UTC)
        for i in range(3):
            feed.q.put(Quote("EURUSD", 1.1, 1.1001, t0 + dt.timedelta(minutes=i)))
        assert wait_for(lambda: st.events == 3), st
        assert st.dropped == 0 and st.last_quote["EURUSD"] == t0 + dt.timedelta(minutes=2)


def test_a_future_tick_from_nats_is_dropped(nats_url, ledger_dir):
    import nats

    prefix = f"rt-hyg-{uuid.uuid4().hex[:8]}"
    cfg = settings_for(ledger_dir, feed="nats", nats_url=nats_url, nats_subject_prefix=prefix)
    with TestClient(create_app(cfg)) as c:
        svc, st = c.app.state.svc, c.app.state.svc.feed_status

        async def publish() -> None:
            nc = await nats.connect(nats_url)
            now_ms = int(time.time() * 1000)
            for ts_ms, bid in ((now_ms + 86_400_000, 1.5), (now_ms, 1.2)):
                msg = {"symbol": "EURUSD", "ts_ms": ts_ms, "bid": bid, "ask": bid + 1e-4}
                await nc.publish(f"{prefix}.ticks.EURUSD", json.dumps(msg).encode())
            await nc.flush()
            await nc.close()

        assert wait_for(lambda: st.running is True)
        time.sleep(0.3)  # let the subscription start
        asyncio.run(publish())
        assert wait_for(lambda: st.events == 2), st
        assert st.dropped == 1
        assert svc.broker.quote("EURUSD").bid == pytest.approx(1.2)


def test_a_future_quote_is_stale_for_the_risk_check():
    rm = RiskManager(RiskLimits(max_quote_age_s=30.0, future_tolerance_s=5.0))
    now = _now()

    def at(seconds: float) -> Quote:
        return Quote("EURUSD", 1.1, 1.1001, now + dt.timedelta(seconds=seconds))

    rm.check("EURUSD", "buy", 1.0, (0.0, 0.0), 0.0, at(0), now)
    rm.check("EURUSD", "buy", 1.0, (0.0, 0.0), 0.0, at(3), now)  # within the tolerance
    with pytest.raises(RiskRejectedError, match="stale price"):
        rm.check("EURUSD", "buy", 1.0, (0.0, 0.0), 0.0, at(86_400), now)
    off = RiskManager(RiskLimits(max_quote_age_s=0.0))  # staleness check off: not checked
    off.check("EURUSD", "buy", 1.0, (0.0, 0.0), 0.0, at(86_400), now)


def test_quotes_for_symbols_not_served_are_ignored_and_counted(ledger_dir):
    feed = QuoteQueueFeed()
    with TestClient(create_app(settings_for(ledger_dir), feed=feed)) as c:
        svc, st = c.app.state.svc, c.app.state.svc.feed_status
        for i in range(5):
            feed.q.put(Quote(f"JUNK{i}", 1.0, 1.0001, _now()))
        svc.desk.on_quote(Quote("JUNK9", 1.0, 1.0001, _now()))  # straight into the service, too
        feed.q.put(Quote("EURUSD", 1.1, 1.1001, _now()))
        assert wait_for(lambda: st.events == 6), st
        assert st.dropped == 6
        assert not any(k.startswith("JUNK") for k in st.last_quote)
        assert all(svc.broker.quote(f"JUNK{i}") is None for i in (0, 9))
        text = c.get("/metrics").text
        assert "JUNK" not in text
        name = "realtime_feed_dropped_ticks_total"
        assert metric_sample(text, name, symbol="other", reason="unknown_symbol") == 6.0


def test_unknown_http_methods_share_one_metric_label(client):
    for m in ("FOO1", "FOO2", "FOO3"):
        client.request(m, "/health")
    client.get("/health")
    text = client.get("/metrics").text
    assert "FOO" not in text
    assert 'method="other"' in text and 'method="GET"' in text
