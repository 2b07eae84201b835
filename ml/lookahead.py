"""A look-ahead check for a candidate model, in the spirit of freqtrade's lookahead-analysis.

The candidate's signals are computed once on the full history, then again on truncated
histories (features recomputed from the bars up to each cut). A signal at bar t may only use
data up to t's close, so every signal before a cut must be identical in both runs; any that
changes means the features or the model read the future.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ml.errors import NotEnoughDataError
from ml.features import compute_features
from ml.models import signals_for_bars

log = logging.getLogger(__name__)


def signals_from_bars(model, symbol: str, bars: pd.DataFrame) -> np.ndarray:
    """The model's signal at every bar, features computed from ``bars`` alone."""
    try:
        feats = compute_features(bars, model.feature_set)
    except NotEnoughDataError:
        return np.zeros(len(bars), dtype=np.int64)
    return signals_for_bars(model, symbol, bars, feats)


def lookahead_changes(model, symbol: str, bars: pd.DataFrame, n_cuts: int = 4,
                      max_bars: int = 3000) -> int:
    """How many past signals change when the history is cut short (0 for a causal model).

    The check runs on the first ``max_bars`` bars, cut at ``n_cuts`` points spread over their
    second half, so the features have warmed up before the first cut.
    """
    bars = bars.iloc[:max_bars].reset_index(drop=True)
    if len(bars) < 4:
        return 0
    full = signals_from_bars(model, symbol, bars)
    cuts = np.unique(np.linspace(len(bars) // 2, len(bars) - 1, n_cuts).astype(int))
    changed = 0
    for k in cuts:
        part = signals_from_bars(model, symbol, bars.iloc[:k])
        diff = int((part != full[:k]).sum())
        if diff:
            log.warning("%s: %d signals before bar %d change when the history ends there", symbol, diff, k)
        changed += diff
    return changed
