"""Look-back windows over rows that are time-ordered within each group (symbol).

The frame a model sees is sorted by (ts, symbol), so one symbol's rows are interleaved with the
others'. A window must only ever hold consecutive rows of one symbol, so the rows are stable-sorted
by group first (which keeps time order inside each group), windows are cut in that order, and the
predictions are mapped back to the caller's row order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WindowIndex:
    """Where the windows are: ``order`` sorts rows by group; ``ends`` are positions in that order.

    The window ending at sorted position ``e`` is ``order[e - lookback + 1 : e + 1]``; it predicts
    the caller's row ``order[e]``.
    """

    order: np.ndarray
    ends: np.ndarray
    lookback: int

    @property
    def rows(self) -> np.ndarray:
        """The caller's row index that each window predicts."""
        return self.order[self.ends]

    def window_rows(self) -> np.ndarray:
        """(n_windows, lookback) caller row indices of every window; for tests and small data."""
        return self.order[self.ends[:, None] + np.arange(-self.lookback + 1, 1)]


def build_windows(n_rows: int, lookback: int, groups: np.ndarray | None = None) -> WindowIndex:
    """Every window of ``lookback`` consecutive same-group rows; ``groups=None`` means one group."""
    if lookback < 1:
        raise ValueError(f"lookback must be >= 1, got {lookback}")
    if groups is None:
        order = np.arange(n_rows)
        pos_in_group = order
    else:
        # integer codes make the sort fast and work for strings too
        _, codes = np.unique(groups, return_inverse=True)
        order = np.argsort(codes, kind="stable")
        sorted_codes = codes[order]
        starts = np.ones(n_rows, dtype=bool)
        starts[1:] = sorted_codes[1:] != sorted_codes[:-1]
        first = np.maximum.accumulate(np.where(starts, np.arange(n_rows), 0))
        pos_in_group = np.arange(n_rows) - first
    ends = np.flatnonzero(pos_in_group >= lookback - 1)
    return WindowIndex(order=order, ends=ends, lookback=lookback)
