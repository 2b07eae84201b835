"""The replay feed goes on from where warm-up ended: one unbroken run of bars, never a jump back
to the first stored day."""

import pandas as pd
from fastapi.testclient import TestClient

from marketdata.store import ParquetStore
from realtime.feeds.replay import replay_split
from realtime.main import create_app
from tests.realtime.conftest import ADMIN_KEY, DAYS, settings_for, wait_for


def test_split_is_the_newest_day_or_after_the_warm_up(rt_dir):
    store = ParquetStore(rt_dir / "lake")
    assert replay_split(store, ["EURUSD"], None, 100) == pd.Timestamp(DAYS[1], tz="UTC")
    first_bars = store.read_bars("EURUSD", DAYS[0], DAYS[0])
    # replaying from the first day leaves warm-up nothing before it: start after 100 bars
    assert replay_split(store, ["EURUSD"], DAYS[0], 100) == pd.Timestamp(first_bars["ts"].iloc[100])
    assert replay_split(store, ["GBPUSD"], None, 100) is None


def test_signals_run_on_from_the_warm_up_without_a_jump(ledger_dir):
    cfg = settings_for(ledger_dir, feed="replay", feed_speed=0.0)
    newest = ParquetStore(ledger_dir / "lake").read_bars("EURUSD", DAYS[1], DAYS[1])
    last = pd.Timestamp(newest["ts"].iloc[-1])
    with TestClient(create_app(cfg)) as c:
        headers = {"X-API-Key": ADMIN_KEY}

        def history() -> list[pd.Timestamp]:
            r = c.get("/api/v1/signals/EURUSD/history", params={"limit": 1000}, headers=headers)
            return [pd.Timestamp(s["features_ts"]) for s in r.json()]

        assert wait_for(lambda: history() and history()[-1] == last, timeout=60)
        # the feed played the newest day only: warm-up had fed the day before it
        assert c.app.state.svc.feed_status.events == len(newest)
        ts = history()
        assert ts == sorted(set(ts))  # one signal per bar, in time order
        assert ts[0] >= pd.Timestamp(DAYS[1], tz="UTC")
