"""A ranged run's features, read once for the range, equal the day-by-day computation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from marketdata.bars import ticks_to_bars
from marketdata.store import ParquetStore
from ml.dataset import RangeFeatures, features_for_day
from ml.features import DEFAULT_FEATURE_SET
from tests.marketdata.helpers import fixture_day

# Friday, the empty Saturday, Sunday's evening open, then the week: warm-ups across a weekend.
DAYS = [dt.date(2012, 12, d) for d in range(7, 13)]


def test_range_features_equal_features_for_day(tmp_path: Path, fixtures_dir: Path) -> None:
    store = ParquetStore(tmp_path / "lake")
    for day in [dt.date(2012, 12, 6), *DAYS]:
        store.write_bars("GBPJPY", day, ticks_to_bars(fixture_day(fixtures_dir, "GBPJPY", day)))
    fs = DEFAULT_FEATURE_SET
    for days in (DAYS, DAYS[2:4], DAYS[:1]):
        ranged = RangeFeatures(store, fs, [(d, "GBPJPY") for d in days])
        for day in days:
            expected = features_for_day(store, "GBPJPY", day, fs)
            pd.testing.assert_frame_equal(ranged("GBPJPY", day), expected, check_exact=True)
    saturday = features_for_day(store, "GBPJPY", dt.date(2012, 12, 8), fs)
    sunday = features_for_day(store, "GBPJPY", dt.date(2012, 12, 9), fs)
    assert saturday.empty and len(sunday) and sunday[fs.columns].iloc[0].isna().any()  # no warm-up
    # A day not among those read (or another symbol) is computed as features_for_day does.
    ranged, later = RangeFeatures(store, fs, [(dt.date(2012, 12, 11), "GBPJPY")]), dt.date(2012, 12, 12)
    pd.testing.assert_frame_equal(ranged("GBPJPY", later), features_for_day(store, "GBPJPY", later, fs),
                                  check_exact=True)
