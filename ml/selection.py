"""Probability of backtest overfitting over the model choices themselves.

Every candidate configuration (family x hyperparameters x threshold) is cross-validated with the
same purged splitter (walk-forward or CPCV); its out-of-sample signals earn the next bar's
return, giving one column of a (bar times x candidates) matrix. PBO by combinatorially symmetric
cross-validation on that matrix says how often the in-sample best candidate falls in the bottom
half out of sample: how much the choice among candidates is luck. Every candidate is a trial of
the registered model, so :func:`record_selection` puts each one in its trial ledger.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from mlflow import MlflowClient

from ml.errors import MLError
from ml.families import get_family
from ml.features import FeatureSet
from ml.models import signal_from_prob
from ml.optimize.overfitting import probability_of_backtest_overfitting
from ml.training import TrainConfig, fit_classifier, splitter
from ml.trials import per_bar_sharpe, record_trial

# Small default hyperparameter grids: each point is fitted once per CPCV split.
DEFAULT_GRIDS: dict[str, list[dict[str, Any]]] = {
    "logreg": [{"C": 0.1}, {"C": 1.0}],
    "lgbm": [{"n_estimators": 100, "num_leaves": 7}, {"n_estimators": 300, "num_leaves": 15}],
    "mlp": [{}],
    "tcn": [{}],
}


@dataclass(frozen=True)
class CandidateSelection:
    """Out-of-sample per-bar returns of every candidate and the PBO of choosing among them."""

    returns: pd.DataFrame  # index: bar time, one column per candidate
    pbo: float


def next_bar_returns(frame: pd.DataFrame) -> np.ndarray:
    """Each row's next-bar log return of its own symbol (the ``ret_1`` feature one bar on)."""
    return frame.groupby("symbol")["ret_1"].shift(-1).to_numpy(np.float64)


def candidate_returns(frame: pd.DataFrame, fs: FeatureSet, cfg: TrainConfig, cv: TrainConfig) -> pd.Series:
    """Per-bar-time out-of-sample returns of ``cfg``'s signals under ``cv``'s purged splitter;
    a row tested in several CPCV splits earns its mean signal."""
    label_end = frame["label_end"].to_numpy() if "label_end" in frame else None
    signal_sum = np.zeros(len(frame))
    tested = np.zeros(len(frame))
    splits = splitter(cv).split(frame["ts"].to_numpy(), label_end, frame["symbol"].to_numpy())
    for train_idx, test_idx in splits:
        clf = fit_classifier(frame.iloc[train_idx], fs, cfg)
        test = frame.iloc[test_idx]
        prob = clf.predict_proba(test[fs.columns].to_numpy(np.float64), test["symbol"].to_numpy())
        signal_sum[test_idx] += signal_from_prob(prob, cfg.threshold)
        tested[test_idx] += 1
    ok = tested > 0
    pnl = np.where(ok, signal_sum / np.maximum(tested, 1), 0.0) * np.nan_to_num(next_bar_returns(frame))
    series = pd.Series(pnl[ok], index=frame["ts"].to_numpy()[ok])
    return series.groupby(level=0).mean()


def select_candidates(frame: pd.DataFrame, fs: FeatureSet, candidates: Sequence[TrainConfig],
                      cv: TrainConfig, n_splits: int = 8) -> CandidateSelection:
    """Cross-validate every candidate; PBO (CSCV, ``n_splits`` blocks) over their OOS returns."""
    cols = {f"{i}:{c.family}:{c.threshold}:{sorted(c.params.items())}": candidate_returns(frame, fs, c, cv)
            for i, c in enumerate(candidates)}
    returns = pd.DataFrame(cols).fillna(0.0).sort_index()
    return CandidateSelection(returns, probability_of_backtest_overfitting(returns.to_numpy(), n_splits))


def candidate_grid(families: Sequence[str], thresholds: Sequence[float], horizon: int,
                   grids: Mapping[str, list[dict[str, Any]]] | None = None) -> list[TrainConfig]:
    """Every family x hyperparameter set x threshold. ``grids`` (default :data:`DEFAULT_GRIDS`)
    gives each family's sets; a registered family without one is tried with its defaults."""
    grids = DEFAULT_GRIDS if grids is None else grids
    if not families or not thresholds:
        raise MLError("a candidate grid needs at least one family and one threshold")
    for f in families:
        get_family(f)  # an unknown family fails here, by name
    return [TrainConfig(family=f, params=dict(p), threshold=float(t), horizon=horizon)
            for f in families for p in grids.get(f, [{}]) for t in thresholds]


def record_selection(client: MlflowClient, name: str, selection: CandidateSelection,
                     candidates: Sequence[TrainConfig]) -> None:
    """Put every candidate of ``selection`` in ``name``'s trial ledger with its OOS Sharpe."""
    for column, cfg in zip(selection.returns.columns, candidates, strict=True):
        choices = {"kind": "selection", "family": cfg.family, "threshold": cfg.threshold,
                   "horizon": cfg.horizon, "cv": "cpcv",
                   **{f"param.{k}": v for k, v in cfg.params.items()}}
        record_trial(client, name, choices, per_bar_sharpe(selection.returns[column].to_numpy()))
