"""Walk-forward splits: time-ordered, purged, embargoed, never shuffled."""

import numpy as np
import pandas as pd
import pytest

from ml.errors import LeakageError, NotEnoughDataError
from ml.splits import (
    CombinatorialPurged,
    WalkForward,
    as_ns,
    assert_purged,
    effective_label_end,
    purged_train_rows,
)


def _times(n, symbols=2):
    t = pd.date_range("2024-01-01", periods=n, freq="1min", tz="UTC").to_numpy()
    return np.sort(np.repeat(t, symbols))


@pytest.mark.parametrize("expanding", [True, False])
def test_train_precedes_test_with_a_gap(expanding):
    times = _times(1000)
    wf = WalkForward(n_splits=4, purge=15, embargo=30, expanding=expanding, train_size=300)
    folds = list(wf.split(times))
    assert len(folds) == 4
    previous_test_start = None
    for train, test in folds:
        gap = (times[test].min() - times[train].max()) / np.timedelta64(1, "m")
        assert gap == 15 + 30 + 1  # purge + embargo bars dropped between them
        assert len(np.intersect1d(train, test)) == 0
        if not expanding:
            assert len(np.unique(times[train])) <= 300
        if previous_test_start is not None:
            assert times[test].min() > previous_test_start  # folds walk forward
        previous_test_start = times[test].min()
    # Both symbols of a bar time always land on the same side.
    train, test = folds[0]
    assert len(train) % 2 == 0 and len(test) % 2 == 0


def test_expanding_train_grows_and_rolling_does_not():
    times = _times(1000, symbols=1)
    exp = [len(tr) for tr, _ in WalkForward(n_splits=3).split(times)]
    roll = [len(tr) for tr, _ in WalkForward(n_splits=3, expanding=False, train_size=200).split(times)]
    assert exp[0] < exp[1] < exp[2]
    assert roll == [200, 200, 200]


def test_too_little_data_is_refused():
    with pytest.raises(NotEnoughDataError):
        list(WalkForward(n_splits=4, purge=15, embargo=30).split(_times(60, 1)))


def _two_speed_frame(n=1200):
    """EURUSD on every minute, a thin symbol on every fifth: rows sorted by (ts, symbol)."""
    t = pd.date_range("2024-01-01", periods=n, freq="1min", tz="UTC")
    rows = [(ts, "EURUSD") for ts in t] + [(ts, "THIN") for ts in t[::5]]
    df = pd.DataFrame(rows, columns=["ts", "symbol"]).sort_values(["ts", "symbol"], ignore_index=True)
    return df


def _own_bar_end(df, horizon):
    """Each row's label end: its own symbol's bar ``horizon`` bars later (far future past the data)."""
    end = as_ns(df.groupby("symbol")["ts"].shift(-horizon).to_numpy())
    return np.where(np.isnat(end), np.datetime64("2262-01-01", "ns"), end)


def _overlaps(ts, end, train, test):
    """How many training label intervals [ts, end] contain a test time."""
    test_times = np.unique(ts[test])
    k = np.searchsorted(test_times, ts[train])
    nxt = test_times[np.minimum(k, len(test_times) - 1)]
    return int(((k < len(test_times)) & (nxt <= end[train])).sum())


@pytest.mark.parametrize("make", [
    lambda: WalkForward(n_splits=3, purge=15, embargo=5, horizon=15),
    lambda: CombinatorialPurged(n_groups=5, n_test_groups=2, purge=15, embargo=5, horizon=15),
])
def test_purge_is_per_symbol_so_a_thin_symbol_does_not_leak(make):
    df = _two_speed_frame()
    ts, end = as_ns(df["ts"].to_numpy()), _own_bar_end(df, 15)
    splitter = make()
    n = 0
    for train, test in splitter.split(ts, None, df["symbol"].to_numpy()):
        n += 1
        assert _overlaps(ts, end, train, test) == 0
        assert len(train) and len(test)
    assert n == (3 if isinstance(splitter, WalkForward) else 10)


def test_the_old_union_axis_purge_leaked_the_thin_symbol():
    # Purging 15 shared timestamps keeps THIN rows whose 15-bar labels (75 minutes) reach the test.
    df = _two_speed_frame()
    ts, end = as_ns(df["ts"].to_numpy()), _own_bar_end(df, 15)
    uniq = np.unique(ts)
    cut = 900
    test = np.flatnonzero(ts >= uniq[cut])
    old_train = np.flatnonzero(ts < uniq[cut - 15])
    assert _overlaps(ts, end, old_train, test) > 0
    new_end = effective_label_end(ts, 15, None, df["symbol"].to_numpy())
    new_train = np.flatnonzero(purged_train_rows(ts, new_end, uniq[cut]))
    assert _overlaps(ts, end, new_train, test) == 0


def test_label_end_longer_than_the_purge_is_respected():
    times = as_ns(_times(600, symbols=1))
    label_end = times + np.timedelta64(100, "m")  # e.g. a long triple-barrier horizon
    for train, test in WalkForward(n_splits=2, purge=15, embargo=0).split(times, label_end):
        assert label_end[train].max() < times[test].min()


def test_purge_below_the_horizon_is_refused():
    with pytest.raises(LeakageError, match="below the label horizon"):
        WalkForward(purge=15, horizon=60)
    with pytest.raises(LeakageError):
        CombinatorialPurged(purge=10, horizon=15)
    from ml.training import TrainConfig

    with pytest.raises(LeakageError):
        TrainConfig(horizon=60, purge=15)
    assert TrainConfig(horizon=60).purge_bars == 60  # unset: the horizon


def test_cpcv_embargoes_after_each_test_block_and_counts_paths():
    times = as_ns(_times(1200, symbols=1))
    cv = CombinatorialPurged(n_groups=6, n_test_groups=2, purge=15, embargo=20)
    splits = list(cv.split(times))
    assert len(splits) == 15 and cv.paths() == 5
    for train, test in splits:
        tt = np.unique(times[test])
        # no training time within purge before, or purge+embargo after, any test time
        dist = (times[train][:, None] - tt[None, :]) / np.timedelta64(1, "m")
        assert not ((dist > -16) & (dist <= 20)).any()
    # each bar time is tested in exactly n_test_groups * C / n_groups = 5 splits
    counts = np.zeros(len(times), int)
    for _, test in splits:
        counts[test] += 1
    assert (counts == 5).all()


def test_assert_purged_catches_an_overlapping_split():
    times = _times(100, symbols=1)
    end = effective_label_end(times, 15)
    with pytest.raises(LeakageError, match="overlap"):
        assert_purged(times, end, np.arange(0, 60), np.arange(60, 100))
    assert_purged(times, end, np.arange(0, 45), np.arange(60, 100))
