"""Walk-forward splits: time-ordered, purged, embargoed, never shuffled."""

import numpy as np
import pandas as pd
import pytest

from ml.errors import NotEnoughDataError
from ml.splits import WalkForward


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
