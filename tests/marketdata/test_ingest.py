"""ingest_days and LocalDatafeed on the real GBPJPY month and on damaged copies of it."""

from __future__ import annotations

import datetime as dt
import lzma
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from marketdata.bi5 import TICK_DTYPE, day_ticks_frame, hour_tick_records
from marketdata.datafeed import day_hours, hour_path
from marketdata.errors import CorruptFileError, DatafeedNotFoundError
from marketdata.ingest import ingest_days
from marketdata.local import LocalDatafeed
from marketdata.sources import TickSource
from marketdata.store import ParquetStore
from tests.marketdata.helpers import fixture_day

MONTH = [dt.date(2012, 12, 1) + dt.timedelta(days=i) for i in range(26)]
MONTH_TICKS = 1_088_197  # README.md of the fixtures


def _mirror(fixtures_dir: Path, tmp_path: Path, days: list[dt.date]) -> Path:
    """A writable copy of some GBPJPY days, in the datafeed layout, under tmp_path."""
    root = tmp_path / "feed"
    for day in days:
        rel = Path(hour_path("GBPJPY", day_hours(day)[0])).parent
        shutil.copytree(fixtures_dir / rel, root / rel)
    return root


def test_month_lands_in_the_store(fixtures_dir: Path, tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    seen: list[tuple[dt.date, int | None]] = []
    report = ingest_days(
        LocalDatafeed(fixtures_dir), store, "GBPJPY", MONTH, max_workers=2,
        on_day=lambda day, n, _: seen.append((day, n)),
    )
    assert report.ok and report.ticks == MONTH_TICKS
    assert store.days("ticks", "GBPJPY") == MONTH  # empty weekend/holiday days are written too
    assert report.written[dt.date(2012, 12, 1)] == 0  # a Saturday: 24 zero-byte hours
    assert [d for d, _ in seen] == MONTH and sum(n or 0 for _, n in seen) == MONTH_TICKS
    monday = dt.date(2012, 12, 3)
    got = store.read_ticks("GBPJPY", monday, monday)
    pd.testing.assert_frame_equal(got, fixture_day(fixtures_dir, "GBPJPY", monday))
    assert got["bid"].iloc[0] == 132.141 and got["ask"].iloc[0] == 132.158


def test_local_feed_is_a_tick_source(fixtures_dir: Path) -> None:
    feed = LocalDatafeed(fixtures_dir)
    assert isinstance(feed, TickSource)
    day = dt.date(2019, 2, 4)
    pd.testing.assert_frame_equal(feed.fetch_day("EURUSD", day), fixture_day(fixtures_dir, "EURUSD", day))


def test_missing_folder_and_missing_hour_are_named(fixtures_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(DatafeedNotFoundError, match="does not exist"):
        LocalDatafeed(tmp_path / "nowhere")
    with pytest.raises(DatafeedNotFoundError, match=r"EURUSD/2019/01/06/00h_ticks\.bi5"):
        LocalDatafeed(fixtures_dir).fetch_hour("EURUSD", dt.datetime(2019, 2, 6, 0))


def test_a_corrupt_hour_fails_its_day_only(fixtures_dir: Path, tmp_path: Path) -> None:
    days = [dt.date(2012, 12, 3), dt.date(2012, 12, 4), dt.date(2012, 12, 5)]
    root = _mirror(fixtures_dir, tmp_path, days)
    broken = root / hour_path("GBPJPY", dt.datetime(2012, 12, 4, 10))
    broken.write_bytes(broken.read_bytes()[:-100])
    store = ParquetStore(tmp_path / "lake")
    seen: list[tuple[dt.date, int | None]] = []
    report = ingest_days(
        LocalDatafeed(root), store, "GBPJPY", days, max_workers=2,
        on_day=lambda day, n, _: seen.append((day, n)),
    )
    assert list(report.failed) == [days[1]] and str(broken) in report.failed[days[1]]
    assert seen == [(days[0], report.written[days[0]]), (days[1], None), (days[2], report.written[days[2]])]
    assert store.days("ticks", "GBPJPY") == [days[0], days[2]]
    # fixing the file and re-running does only the failed day
    shutil.copyfile(fixtures_dir / broken.relative_to(root), broken)
    again = ingest_days(LocalDatafeed(root), store, "GBPJPY", days, skip_existing=True)
    assert again.ok and again.skipped == [days[0], days[2]] and list(again.written) == [days[1]]
    assert store.days("ticks", "GBPJPY") == days


def _bi5(records: np.ndarray) -> bytes:
    return lzma.compress(records.tobytes(), format=lzma.FORMAT_ALONE)


def _records(ms: list[int], bid: int = 132_141, ask: int = 132_158) -> np.ndarray:
    rec = np.zeros(len(ms), TICK_DTYPE)
    rec["ms"], rec["bid"], rec["ask"], rec["bid_vol"], rec["ask_vol"] = ms, bid, ask, 1.0, 1.5
    return rec


def test_out_of_range_records_are_rejected() -> None:
    assert len(hour_tick_records(_bi5(_records([0, 3_599_999])))) == 2
    with pytest.raises(CorruptFileError, match=r"x\.bi5: tick offset 3600000 ms is past the hour"):
        hour_tick_records(_bi5(_records([5, 3_600_000])), "x.bi5")
    with pytest.raises(CorruptFileError, match="zero price"):
        hour_tick_records(_bi5(_records([5], bid=0)), "x.bi5")
    with pytest.raises(CorruptFileError, match="not a multiple of the 20-byte"):
        hour_tick_records(lzma.compress(b"\0" * 30, format=lzma.FORMAT_ALONE), "x.bi5")


def test_day_frame_places_hours_and_sorts() -> None:
    starts = [1_000_000_000_000, 1_000_003_600_000]
    frame = day_ticks_frame([_records([10, 20]), _records([5])], starts, 1e3)
    assert frame["ts_ms"].tolist() == [starts[0] + 10, starts[0] + 20, starts[1] + 5]
    assert frame["bid"].tolist() == [132.141] * 3
    # a file out of order (never seen in real data) still gives a sorted day
    frame = day_ticks_frame([_records([10]), _records([5])], [starts[1], starts[0]], 1e3)
    assert frame["ts_ms"].is_monotonic_increasing and len(frame) == 2
    assert day_ticks_frame([], [], 1e3).empty


@pytest.mark.parametrize("per_hour", [True, False])
def test_a_bug_in_the_source_is_not_swallowed(tmp_path: Path, per_hour: bool) -> None:
    class Broken:
        parallel_hours = per_hour  # both ways through ingest_days: hour tasks and day tasks

        def fetch_hour_records(self, symbol: str, hour: dt.datetime) -> np.ndarray:
            raise TypeError("a bug")

    with pytest.raises(TypeError, match="a bug"):
        ingest_days(Broken(), ParquetStore(tmp_path), "GBPJPY", MONTH[:1])
