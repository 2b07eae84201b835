"""fetch_days over the real GBPJPY fixtures: the same frames as a day-at-a-time fetch, in day
order, and a corrupt hour fails only its own day, naming the file."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd

from marketdata.datafeed import day_hours, hour_path
from marketdata.errors import CorruptFileError
from marketdata.local import LocalDatafeed
from marketdata.prefetch import fetch_days
from marketdata.synthetic import SyntheticSource
from tests.marketdata.helpers import fixture_day

DAYS = [dt.date(2012, 12, d) for d in range(1, 8)]  # a weekend (empty hours) and five weekdays


def test_days_come_back_whole_and_in_order(fixtures_dir: Path) -> None:
    got = list(fetch_days(LocalDatafeed(fixtures_dir), "GBPJPY", DAYS, max_workers=3, lookahead=2))
    assert [d for d, _ in got] == DAYS
    sizes = []
    for day, frame in got:
        assert isinstance(frame, pd.DataFrame)
        pd.testing.assert_frame_equal(frame, fixture_day(fixtures_dir, "GBPJPY", day))
        sizes.append(len(frame))
    assert sizes[0] == 0 and all(n > 1000 for n in sizes[2:])


def test_a_corrupt_hour_fails_only_its_day(fixtures_dir: Path, tmp_path: Path) -> None:
    for day in DAYS:
        rel = Path(hour_path("GBPJPY", day_hours(day)[0])).parent
        shutil.copytree(fixtures_dir / rel, tmp_path / rel)
    bad = dt.date(2012, 12, 5)
    (tmp_path / hour_path("GBPJPY", day_hours(bad)[9])).write_bytes(b"not an LZMA stream" * 10)
    got = dict(fetch_days(LocalDatafeed(tmp_path), "GBPJPY", DAYS, max_workers=2))
    assert list(got) == DAYS
    assert isinstance(got[bad], CorruptFileError) and "09h_ticks.bi5" in str(got[bad])
    for day in DAYS:
        if day != bad:
            pd.testing.assert_frame_equal(got[day], fixture_day(fixtures_dir, "GBPJPY", day))


def test_a_day_level_source_is_asked_a_day_at_a_time() -> None:
    source = SyntheticSource()
    got = list(fetch_days(source, "EURUSD", DAYS[3:5]))
    assert [d for d, _ in got] == DAYS[3:5]
    for day, frame in got:
        pd.testing.assert_frame_equal(frame, source.fetch_day("EURUSD", day))
