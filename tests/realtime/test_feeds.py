"""Feeds: rolling bars match the batch aggregation; replay, MT5, NATS and Dukascopy live feeds."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid

import numpy as np
import pandas as pd
import pytest

from marketdata.bars import ticks_to_bars
from marketdata.store import ParquetStore
from marketdata.synthetic import SyntheticSource
from realtime.brokers.base import Quote
from realtime.errors import FeedError
from realtime.feeds.base import BarEvent
from realtime.feeds.mt5_feed import MT5TickFeed
from realtime.feeds.nats_feed import NatsTickFeed, parse_tick
from realtime.feeds.replay import ReplayFeed
from realtime.inference.bars import LateTickError, RollingBars
from tests.realtime.conftest import DAYS, metric_sample, wait_for
from tests.support.mt5sim import MT5TerminalSimulator


def _ticks() -> pd.DataFrame:
    return SyntheticSource(seed=3).fetch_day("EURUSD", DAYS[0]).head(5000)


def test_rolling_bars_equal_the_batch_bars():
    ticks = _ticks()
    roll, closed = RollingBars(), []
    for r in ticks.itertuples():
        bar = roll.on_tick("EURUSD", r.ts_ms, r.bid, r.ask, r.bid_volume, r.ask_volume)
        if bar is not None:
            closed.append(bar)
    batch = ticks_to_bars(ticks).iloc[:-1]  # the last minute is still open in the rolling view
    got = pd.DataFrame(closed)[batch.columns]
    assert len(got) == len(batch)
    for col in batch.columns[1:]:
        np.testing.assert_allclose(got[col].to_numpy(float), batch[col].to_numpy(float), rtol=1e-12)
    assert (got["ts"].to_numpy() == batch["ts"].to_numpy()).all()
    with pytest.raises(LateTickError, match="older than the open bar"):
        roll.on_tick("EURUSD", int(ticks["ts_ms"].iloc[0]), 1.0, 1.0)
    # The refused tick left the open bar as it was: the next minute closes it unchanged.
    last = ticks.iloc[-1]
    open_minute = int(last["ts_ms"]) // 60_000 * 60_000
    after = roll.on_tick("EURUSD", open_minute + 60_000, 2.0, 2.0001)
    assert after is not None and after["bid_close"] == pytest.approx(float(last["bid"]))
    assert after["tick_count"] == int((ticks["ts_ms"] // 60_000 * 60_000 == open_minute).sum())


async def _take(stream, n):
    out = []
    async for ev in stream:
        out.append(ev)
        if len(out) == n:
            break
    return out


def test_replay_feed_merges_symbols_in_time_order_at_speed(tmp_path):
    store, src = ParquetStore(tmp_path), SyntheticSource(seed=5)
    for s in ("EURUSD", "GBPUSD"):
        store.write_bars(s, DAYS[0], ticks_to_bars(src.fetch_day(s, DAYS[0])).head(3))
    events = asyncio.run(_take(ReplayFeed(store, ["EURUSD", "GBPUSD"], DAYS[0], DAYS[0]).stream(), 6))
    assert all(isinstance(e, BarEvent) for e in events)
    ts = [pd.Timestamp(e.bar["ts"]) for e in events]
    assert ts == sorted(ts) and {e.symbol for e in events} == {"EURUSD", "GBPUSD"}
    # speed 600: three one-minute steps take ~0.2 s of wall time
    t0 = asyncio.run(asyncio.sleep(0, result=dt.datetime.now()))
    asyncio.run(_take(ReplayFeed(store, ["EURUSD"], DAYS[0], DAYS[0], speed=600).stream(), 3))
    assert (dt.datetime.now() - t0).total_seconds() >= 0.19
    with pytest.raises(ValueError):
        ReplayFeed(store, ["EURUSD"], DAYS[0], DAYS[0], speed=-1)


def test_mt5_feed_reads_only_new_ticks():
    sim = MT5TerminalSimulator()
    sim.add_symbol("EURUSD")
    sim.initialize()
    t0 = 1_709_726_400_000
    for i in range(3):
        sim.push_tick("EURUSD", 1.1 + i * 1e-5, 1.1001 + i * 1e-5, t0 + i * 500)
    feed = MT5TickFeed(sim, ["EURUSD"], since=dt.datetime.fromtimestamp(t0 / 1000, dt.UTC))
    first = feed.poll()
    assert [q.bid for q in first] == pytest.approx([1.1, 1.10001, 1.10002])
    assert feed.poll() == []
    sim.push_tick("EURUSD", 1.2, 1.2001, t0 + 2000)
    assert [q.bid for q in feed.poll()] == [1.2]
    sim.shutdown()
    with pytest.raises(FeedError, match="copy_ticks_from"):
        feed.poll()


def test_nats_tick_messages_are_validated():
    q = parse_tick(b'{"symbol": "eurusd", "ts_ms": 1709726400000, "bid": 1.1, "ask": 1.1001}')
    assert q.symbol == "EURUSD" and q.ts.year == 2024
    for bad in (b"not json", b'{"symbol": "EURUSD"}', b'{"symbol":"EURUSD","ts_ms":1,"bid":2,"ask":1}'):
        with pytest.raises(FeedError, match="bad tick message"):
            parse_tick(bad)


def test_nats_feed_receives_ticks(nats_url):
    import nats

    subject = f"rt-test-{uuid.uuid4().hex}.ticks"

    async def run():
        feed = NatsTickFeed(nats_url, subject + ".>")
        stream = feed.stream()
        task = asyncio.create_task(_take(stream, 2))
        await asyncio.sleep(0.3)  # let the subscription start
        nc = await nats.connect(nats_url)
        await nc.publish(subject + ".EURUSD", b"garbage")
        for i in range(2):
            msg = {"symbol": "EURUSD", "ts_ms": 1_709_726_400_000 + i, "bid": 1.1, "ask": 1.1002}
            await nc.publish(subject + ".EURUSD", json.dumps(msg).encode())
        await nc.flush()
        got = await asyncio.wait_for(task, 5)
        await stream.aclose()
        await nc.close()
        return got, feed.bad_messages

    got, bad = asyncio.run(run())
    assert [type(q) for q in got] == [Quote, Quote] and bad == 1


def test_dukascopy_live_feed_against_a_local_chart_api():
    from realtime.feeds.dukascopy_feed import DukascopyLiveFeed
    from tests.support.dukascopy_json_server import serve_chart_api

    ticks = _ticks().head(50)
    end = int(ticks["ts_ms"].iloc[-1])
    with serve_chart_api({"EUR/USD": ticks}) as (url, _requests):
        feed = DukascopyLiveFeed(
            ["EURUSD"],
            base_url=url,
            lookback_s=(end - int(ticks["ts_ms"].iloc[0])) / 1000,
            now_ms=lambda: end,
        )
        got = feed.poll()
        assert len(got) == 50 and got[0].bid == pytest.approx(float(ticks["bid"].iloc[0]))
        assert feed.poll() == []


def test_signals_and_fills_are_published_to_nats(nats_url, ledger_dir):
    import nats
    from fastapi.testclient import TestClient

    from realtime.main import create_app
    from tests.realtime.conftest import ADMIN_KEY, settings_for

    prefix = f"rtpub{uuid.uuid4().hex}"
    got: list[str] = []

    async def listen(stop: asyncio.Event) -> None:
        nc = await nats.connect(nats_url)

        async def _cb(msg) -> None:
            got.append(msg.subject)

        await nc.subscribe(f"{prefix}.>", cb=_cb)
        await nc.flush()
        ready.set()
        await stop.wait()
        await nc.drain()

    import threading

    ready, loop = threading.Event(), asyncio.new_event_loop()
    stop = asyncio.Event()
    th = threading.Thread(target=lambda: loop.run_until_complete(listen(stop)), daemon=True)
    th.start()
    assert ready.wait(5)
    cfg = settings_for(ledger_dir, nats_url=nats_url, nats_subject_prefix=prefix)
    with TestClient(create_app(cfg)) as c:
        r = c.post(
            "/api/v1/orders",
            json={"symbol": "EURUSD", "side": "buy", "volume": 0.1, "client_order_id": "nats-1"},
            headers={"X-API-Key": ADMIN_KEY},
        )
        assert r.status_code == 201
        for _ in range(50):
            if f"{prefix}.fills.EURUSD" in got:
                break
            __import__("time").sleep(0.05)
    loop.call_soon_threadsafe(stop.set)
    th.join(5)
    assert f"{prefix}.fills.EURUSD" in got


class QuoteQueueFeed:
    """A feed the test thread pushes quotes into; ``fail`` ends the stream with an error."""

    name = "test-quotes"

    def __init__(self) -> None:
        import queue

        self.q: queue.Queue[Quote | Exception] = queue.Queue()

    async def stream(self):
        import queue

        while True:
            try:
                item = await asyncio.to_thread(self.q.get, True, 0.05)
            except queue.Empty:
                continue
            if isinstance(item, Exception):
                raise item
            yield item


def test_a_late_tick_is_dropped_and_counted_and_the_feed_keeps_running(ledger_dir):
    from fastapi.testclient import TestClient

    from realtime.main import create_app
    from tests.realtime.conftest import settings_for

    feed = QuoteQueueFeed()
    with TestClient(create_app(settings_for(ledger_dir), feed=feed)) as c:
        st = c.app.state.svc.feed_status
        t0 = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=10)
        for minutes, bid in ((0, 1.1), (2, 1.2), (1, 1.3), (3, 1.4)):  # the 1-minute tick is late
            feed.q.put(Quote("EURUSD", bid, bid + 1e-4, t0 + dt.timedelta(minutes=minutes)))
        assert wait_for(lambda: st.events == 4), st
        assert st.running and st.error is None and st.dropped == 1
        # The late tick did not move the quote (or the feed clock) backwards.
        assert st.last_quote["EURUSD"] == t0 + dt.timedelta(minutes=3)
        assert c.app.state.svc.broker.quote("EURUSD").bid == pytest.approx(1.4)
        text = c.get("/metrics").text
        assert metric_sample(text, "realtime_feed_dropped_ticks_total", symbol="EURUSD", reason="late") == 1.0
        r = c.get("/ready")
        assert r.status_code == 200 and r.json()["checks"]["feed"] is True


def test_ready_reports_a_dead_feed(ledger_dir):
    from fastapi.testclient import TestClient

    from realtime.main import create_app
    from tests.realtime.conftest import settings_for

    feed = QuoteQueueFeed()
    with TestClient(create_app(settings_for(ledger_dir), feed=feed)) as c:
        assert c.get("/ready").json()["checks"]["feed"] is True
        feed.q.put(ConnectionError("upstream closed"))
        assert wait_for(lambda: c.app.state.svc.feed_status.running is False)
        r = c.get("/ready")
        assert r.status_code == 503
        assert r.json()["checks"]["feed"] is False
        assert r.json()["feed_error"] == "ConnectionError: upstream closed"


def test_feed_lag_grows_while_quotes_stop(ledger_dir):
    import time

    from fastapi.testclient import TestClient

    from realtime.main import create_app
    from tests.realtime.conftest import settings_for

    feed = QuoteQueueFeed()
    with TestClient(create_app(settings_for(ledger_dir), feed=feed)) as c:
        ts = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
        feed.q.put(Quote("EURUSD", 1.1, 1.1001, ts))
        assert wait_for(lambda: c.app.state.svc.feed_status.last_quote.get("EURUSD") == ts)
        first = metric_sample(c.get("/metrics").text, "realtime_feed_lag_seconds", symbol="EURUSD")
        assert first is not None and 30.0 <= first < 40.0
        time.sleep(1.5)  # no quotes meanwhile: the lag keeps counting
        second = metric_sample(c.get("/metrics").text, "realtime_feed_lag_seconds", symbol="EURUSD")
        assert second is not None and second >= first + 1.4


def _terminal_with_recent_ticks(minutes: int) -> tuple[MT5TerminalSimulator, pd.DataFrame]:
    """A simulated terminal holding ``minutes`` of synthetic ticks, ending in the current minute."""
    ticks = _ticks()
    ticks = ticks[ticks["ts_ms"] < ticks["ts_ms"].iloc[0] + minutes * 60_000].copy()
    now_minute = int(dt.datetime.now(dt.UTC).timestamp()) // 60 * 60_000
    ticks["ts_ms"] += now_minute - (minutes - 1) * 60_000 - int(ticks["ts_ms"].iloc[0]) // 60_000 * 60_000
    sim = MT5TerminalSimulator()
    sim.add_symbol("EURUSD")
    for r in ticks.itertuples():
        sim.push_tick("EURUSD", r.bid, r.ask, int(r.ts_ms))
    sim.initialize()
    return sim, ticks


def test_recent_bars_from_the_terminal_are_the_closed_minutes():
    from realtime.feeds.mt5_feed import recent_bars

    sim, ticks = _terminal_with_recent_ticks(20)
    bars = recent_bars(sim, "EURUSD", 10)
    batch = ticks_to_bars(ticks).iloc[:-1].tail(10).reset_index(drop=True)  # the last minute is open
    assert len(bars) == 10
    assert (bars["ts"].to_numpy() == batch["ts"].to_numpy()).all()
    np.testing.assert_allclose(bars["bid_close"].to_numpy(float), batch["bid_close"].to_numpy(float))
    assert list(bars["tick_count"]) == list(batch["tick_count"])


def test_mt5_rates_become_bars():
    from realtime.feeds.mt5_feed import rates_to_bars

    dtype = [("time", "i8"), ("open", "f8"), ("high", "f8"), ("low", "f8"), ("close", "f8"),
             ("tick_volume", "u8"), ("spread", "i4"), ("real_volume", "u8")]
    rates = np.array([(1_709_726_400, 1.1, 1.2, 1.0, 1.15, 42, 12, 0)], dtype=dtype)
    bar = rates_to_bars(rates, point=1e-5).iloc[0]
    assert bar["ts"] == pd.Timestamp("2024-03-06 12:00", tz="UTC")
    assert bar["ask_close"] == pytest.approx(1.15012) and bar["spread_max"] == pytest.approx(12e-5)
    assert bar["tick_count"] == 42


def test_warm_up_from_the_broker_when_the_store_has_no_bars(rt_dir, tmp_path):
    from fastapi.testclient import TestClient

    from realtime.main import create_app
    from tests.realtime.conftest import ADMIN_KEY, settings_for

    for name in ("mlflow.db", "mlruns"):  # the model, but no lake: nothing stored to warm up on
        if (rt_dir / name).exists():
            (tmp_path / name).symlink_to(rt_dir / name)
    sim, _ = _terminal_with_recent_ticks(150)
    with TestClient(create_app(settings_for(tmp_path, broker="mt5"), mt5_module=sim)) as c:
        r = c.get("/api/v1/signals/EURUSD", headers={"X-API-Key": ADMIN_KEY})
        assert r.status_code == 200, r.text
        last_closed = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
        features_ts = dt.datetime.fromisoformat(r.json()["features_ts"])
        assert last_closed - dt.timedelta(minutes=1) <= features_ts <= last_closed
