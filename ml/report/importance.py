"""Model-agnostic feature importances: how far ``prob_up`` moves when one input is shuffled.

Works for every model family (row and sequence models alike) because it only calls the model's
batch ``predict``. The importance of a feature is the mean absolute change of ``prob_up`` over
the rows when that feature's column is permuted, with a fixed seed so reports are reproducible.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def permutation_importance(model, rows: pd.DataFrame, symbol: str | None = None,
                           max_rows: int = 3000, seed: int = 0) -> pd.Series:
    """Mean |change in prob_up| per feature when its column is shuffled, largest first.

    ``rows`` holds the model's ``columns`` (and ``ts``); rows with missing inputs are dropped and
    only the last ``max_rows`` are used, so a report stays quick on long histories.
    """
    cols = list(model.columns)
    data = rows.dropna(subset=cols)
    data = data[np.isfinite(data[cols]).all(axis=1)].tail(max_rows).reset_index(drop=True)
    if symbol is not None:
        data = data.assign(symbol=symbol)
    if data.empty:
        return pd.Series(dtype=float, name="importance")
    base = model.predict(None, data)["prob_up"].to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    scores = {}
    for col in cols:
        shuffled = data.copy()
        shuffled[col] = rng.permutation(shuffled[col].to_numpy())
        moved = model.predict(None, shuffled)["prob_up"].to_numpy(dtype=float)
        scores[col] = float(np.nanmean(np.abs(moved - base)))
    return pd.Series(scores, name="importance").sort_values(ascending=False)
