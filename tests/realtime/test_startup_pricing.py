"""At start-up the open book is priced where the replay feed will start, not at the lake's end."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from marketdata.store import ParquetStore
from realtime.feeds.replay import replay_split
from realtime.main import pricing_bar
from tests.realtime.conftest import DAYS


def test_the_book_is_priced_from_the_bar_before_the_replay(rt_dir: Path) -> None:
    store = ParquetStore(rt_dir / "lake")
    newest = pricing_bar(store, "EURUSD")
    assert newest is not None
    assert pd.Timestamp(newest["ts"]).date() == DAYS[-1]
    split = replay_split(store, ["EURUSD"], DAYS[0], warmup=50)
    assert split is not None
    bar = pricing_bar(store, "EURUSD", split)
    assert bar is not None
    ts = pd.Timestamp(bar["ts"])
    assert ts < split and ts.date() == DAYS[0]  # the last bar before the replay's first one
    later = pricing_bar(store, "EURUSD", pd.Timestamp(DAYS[-1], tz="UTC"))  # a split at 00:00
    assert later is not None and pd.Timestamp(later["ts"]).date() == DAYS[0]
