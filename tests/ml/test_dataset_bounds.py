"""Training reads its window in bounded memory: only the most recent days that hold the cap."""

import datetime as dt

import pandas as pd
import pytest

from marketdata.store import ParquetStore
from ml.dataset import training_frame
from ml.errors import MLError
from ml.features import DEFAULT_FEATURE_SET as FS
from tests.support.synthetic_bars import fill_store, weekdays

DAYS = weekdays(dt.date(2024, 1, 1), 4)


class RecordingStore(ParquetStore):
    """The Parquet store, noting which day ranges were read."""

    def __init__(self, root):
        super().__init__(root)
        self.reads: list[tuple[str, dt.date, dt.date]] = []

    def read_bars(self, symbol, start, end, timeframe="1m"):
        self.reads.append(("bars", start, end))
        return super().read_bars(symbol, start, end, timeframe)

    def read_features(self, symbol, start, end):
        self.reads.append(("features", start, end))
        return super().read_features(symbol, start, end)


@pytest.fixture
def store(tmp_path):
    store = RecordingStore(tmp_path)
    fill_store(store, "EURUSD", DAYS, FS)
    return store


def test_a_capped_window_reads_only_the_latest_days_and_keeps_their_rows(store):
    whole = training_frame(store, ["EURUSD"], DAYS[0], DAYS[-1], FS, horizon=15, max_rows_per_symbol=None)
    store.reads.clear()
    capped = training_frame(store, ["EURUSD"], DAYS[0], DAYS[-1], FS, horizon=15, max_rows_per_symbol=2000)
    # ceil(2000 / 1440) = 2 days: the store is never asked for the older ones
    assert store.reads == [("features", DAYS[2], DAYS[-1]), ("bars", DAYS[2], DAYS[-1])]
    assert 2000 <= len(capped) <= 2 * 1440 < len(whole)
    assert capped["ts"].min() >= pd.Timestamp(DAYS[2], tz="UTC")
    # the rows kept are the whole window's, labels included (weights may differ at the cut)
    cols = ["symbol", "ts", *FS.columns, "label", "label_end"]
    tail = whole[whole["ts"] >= capped["ts"].min()].reset_index(drop=True)
    pd.testing.assert_frame_equal(capped[cols].reset_index(drop=True), tail[cols])


def test_a_cap_above_the_window_reads_it_all(store):
    capped = training_frame(store, ["EURUSD"], DAYS[0], DAYS[-1], FS, horizon=15, max_rows_per_symbol=10**6)
    assert store.reads[-2:] == [("features", DAYS[0], DAYS[-1]), ("bars", DAYS[0], DAYS[-1])]
    assert len(capped) > 3 * 1440


def test_a_cap_below_one_row_is_refused(store):
    with pytest.raises(MLError, match="at least 1"):
        training_frame(store, ["EURUSD"], DAYS[0], DAYS[-1], FS, horizon=15, max_rows_per_symbol=0)
