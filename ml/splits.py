"""Walk-forward splits with purge and embargo: never shuffled across time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ml.errors import NotEnoughDataError


@dataclass(frozen=True)
class WalkForward:
    """Folds over time-ordered rows.

    Each fold tests on ``test_size`` consecutive bar times and trains on earlier times only:
    all of them (``expanding``) or the last ``train_size`` (rolling). Between the two, ``purge``
    bars are dropped because their labels look into the test period, and a further ``embargo``
    of bars is dropped because features and returns are serially correlated across the seam.
    """

    n_splits: int = 4
    test_size: int | None = None
    train_size: int | None = None
    expanding: bool = True
    purge: int = 15
    embargo: int = 30

    def split(self, times: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (train_idx, test_idx) into ``times`` (row timestamps, ascending, may repeat)."""
        uniq = np.unique(times)
        test_size = self.test_size or len(uniq) // (self.n_splits + 1)
        first_test = len(uniq) - self.n_splits * test_size
        if test_size < 1 or first_test <= self.purge + self.embargo:
            raise NotEnoughDataError(f"{len(uniq)} bar times cannot make {self.n_splits} walk-forward folds")
        pos = np.searchsorted(uniq, times)  # each row's position on the time axis
        for k in range(self.n_splits):
            t0 = first_test + k * test_size
            t1 = t0 + test_size
            train_end = t0 - self.purge - self.embargo  # purge label overlap, then embargo
            rolling = not self.expanding and self.train_size is not None
            train_start = max(0, train_end - (self.train_size or 0)) if rolling else 0
            train = np.flatnonzero((pos >= train_start) & (pos < train_end))
            test = np.flatnonzero((pos >= t0) & (pos < t1))
            yield train, test
