"""Splits over time with purge and embargo: walk-forward and combinatorial purged CV.

Every row carries the time its label's outcome is decided (``label_end``). A training row is
kept only when that end, floored at ``purge`` rows later *of its own symbol*, falls before the
test period minus an ``embargo`` of bar times; so no training label looks into the test period,
whatever other symbols trade. ``purge`` may never be below the label horizon. Every split
function asserts the gap it promises before returning.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ml.errors import LeakageError, NotEnoughDataError

_INF = np.datetime64("2262-01-01T00:00:00", "ns")  # near the end of datetime64[ns]


def check_purge(purge: int, embargo: int, horizon: int | None) -> None:
    """Refuse a purge below the label horizon (training labels would overlap the test period)."""
    if embargo < 0 or purge < 0:
        raise LeakageError(f"purge ({purge}) and embargo ({embargo}) must be >= 0")
    if horizon is not None and purge < horizon:
        raise LeakageError(f"purge of {purge} bars is below the label horizon of {horizon} bars: "
                           "training labels would overlap the test period; set purge >= horizon")


def as_ns(values) -> np.ndarray:
    """Timestamps (datetime64, tz-aware pandas, Timestamp objects) as UTC datetime64[ns]."""
    import pandas as pd

    arr = np.asarray(values)
    if arr.dtype.kind == "M":
        return arr.astype("datetime64[ns]")
    idx = pd.DatetimeIndex(pd.to_datetime(arr, utc=True))
    return idx.tz_convert(None).to_numpy().astype("datetime64[ns]")


def effective_label_end(times: np.ndarray, purge: int, label_end: np.ndarray | None = None,
                        groups: np.ndarray | None = None) -> np.ndarray:
    """Each row's label end, never earlier than the row ``purge`` rows later in its own group.

    Unknown ends (NaT, or no row that far ahead) count as never ending, so such rows are only
    ever trained on when no test period follows them.
    """
    t = as_ns(times)
    n = len(t)
    floor = np.full(n, _INF)
    if groups is None:  # one series: count bar times, however many rows share each
        uniq = np.unique(t)
        ahead = np.searchsorted(uniq, t) + purge
        floor[ahead < len(uniq)] = uniq[ahead[ahead < len(uniq)]]
        codes = np.zeros(0, dtype=np.int64)
    else:
        codes = np.unique(np.asarray(groups), return_inverse=True)[1]
    order = np.lexsort((t, codes)) if len(codes) else codes
    for code in np.unique(codes):
        rows = order[codes[order] == code]
        if purge < len(rows):
            floor[rows[: len(rows) - purge]] = t[rows[purge:]]
    if label_end is None:
        return floor
    end = as_ns(label_end)
    end = np.where(np.isnat(end), _INF, end)
    return np.maximum(end, floor)


def purged_train_rows(times: np.ndarray, end: np.ndarray, test_start, test_end=None,
                      embargo_until=None) -> np.ndarray:
    """Mask of rows usable for training around the test period [test_start, test_end].

    A row qualifies when its whole label interval [time, end] lies before ``test_start``, or (for
    CPCV) starts after the test period's embargo (``embargo_until``, strictly later).
    """
    t = as_ns(times)
    before = end < as_ns([test_start])[0]
    if test_end is None:
        return before
    after = t > as_ns([embargo_until if embargo_until is not None else test_end])[0]
    return before | after


def assert_purged(times: np.ndarray, end: np.ndarray, train: np.ndarray, test: np.ndarray) -> None:
    """Raise :class:`LeakageError` unless no training label interval overlaps a test row's time."""
    if len(train) == 0 or len(test) == 0:
        return
    t = as_ns(times)
    test_t = np.unique(t[test])
    lo, hi = t[train], end[train]
    # the first test time at or after each training row's start must lie after its label end
    nxt = np.searchsorted(test_t, lo, side="left")
    has = nxt < len(test_t)
    overlap = has & (test_t[np.minimum(nxt, len(test_t) - 1)] <= hi)
    if overlap.any():
        raise LeakageError(f"{int(overlap.sum())} training rows' labels overlap the test period")


@dataclass(frozen=True)
class WalkForward:
    """Folds over time-ordered rows.

    Each fold tests on ``test_size`` consecutive bar times and trains on earlier rows only: all
    of them (``expanding``) or those of the last ``train_size`` bar times (rolling). Training
    rows are purged by label end (see the module docstring) and a further ``embargo`` of bar
    times before the test period is dropped, because features and returns are serially
    correlated across the seam.
    """

    n_splits: int = 4
    test_size: int | None = None
    train_size: int | None = None
    expanding: bool = True
    purge: int = 15
    embargo: int = 30
    horizon: int | None = None

    def __post_init__(self) -> None:
        check_purge(self.purge, self.embargo, self.horizon)

    def split(self, times: np.ndarray, label_end: np.ndarray | None = None,
              groups: np.ndarray | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (train_idx, test_idx) into ``times`` (row timestamps, ascending, may repeat);
        ``label_end`` and ``groups`` (symbols) per row make the purge exact per symbol."""
        times = as_ns(times)
        uniq = np.unique(times)
        test_size = self.test_size or len(uniq) // (self.n_splits + 1)
        first_test = len(uniq) - self.n_splits * test_size
        if test_size < 1 or first_test <= self.purge + self.embargo:
            raise NotEnoughDataError(f"{len(uniq)} bar times cannot make {self.n_splits} walk-forward folds")
        end = effective_label_end(times, self.purge, label_end, groups)
        pos = np.searchsorted(uniq, times)  # each row's position on the time axis
        for k in range(self.n_splits):
            t0 = first_test + k * test_size
            t1 = t0 + test_size
            cutoff = uniq[max(t0 - self.embargo, 0)]
            rolling = not self.expanding and self.train_size is not None
            train_start = max(0, t0 - self.purge - self.embargo - (self.train_size or 0)) if rolling else 0
            train = np.flatnonzero((pos >= train_start) & purged_train_rows(times, end, cutoff))
            test = np.flatnonzero((pos >= t0) & (pos < t1))
            assert_purged(times, end, train, test)
            yield train, test


@dataclass(frozen=True)
class CombinatorialPurged:
    """Combinatorial purged cross-validation (López de Prado, AFML ch. 12).

    The bar times are cut into ``n_groups`` contiguous blocks; each combination of
    ``n_test_groups`` blocks is tested once while the model trains on the rest, purged on both
    sides of every test block and embargoed for ``embargo`` bar times after it. It yields
    C(n_groups, n_test_groups) splits whose test rows form ``n_test_groups * C / n_groups``
    complete backtest paths.
    """

    n_groups: int = 6
    n_test_groups: int = 2
    purge: int = 15
    embargo: int = 30
    horizon: int | None = None

    def __post_init__(self) -> None:
        check_purge(self.purge, self.embargo, self.horizon)
        if not 0 < self.n_test_groups < self.n_groups:
            raise ValueError("need 0 < n_test_groups < n_groups")

    def split(self, times: np.ndarray, label_end: np.ndarray | None = None,
              groups: np.ndarray | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (train_idx, test_idx) for every combination of test blocks."""
        times = as_ns(times)
        uniq = np.unique(times)
        if len(uniq) < self.n_groups * (self.purge + self.embargo + 2):
            raise NotEnoughDataError(f"{len(uniq)} bar times cannot make {self.n_groups} purged CPCV blocks")
        end = effective_label_end(times, self.purge, label_end, groups)
        pos = np.searchsorted(uniq, times)
        blocks = np.array_split(np.arange(len(uniq)), self.n_groups)
        for combo in itertools.combinations(range(self.n_groups), self.n_test_groups):
            keep = np.ones(len(times), dtype=bool)
            test_mask = np.zeros(len(times), dtype=bool)
            for b in combo:
                lo, hi = blocks[b][0], blocks[b][-1]
                test_mask |= (pos >= lo) & (pos <= hi)
                embargo_until = uniq[min(hi + self.embargo, len(uniq) - 1)]
                keep &= purged_train_rows(times, end, uniq[lo], uniq[hi], embargo_until)
            train, test = np.flatnonzero(keep & ~test_mask), np.flatnonzero(test_mask)
            assert_purged(times, end, train, test)
            yield train, test

    def paths(self) -> int:
        """How many complete backtest paths the splits' test sets form."""
        from math import comb

        return comb(self.n_groups, self.n_test_groups) * self.n_test_groups // self.n_groups
