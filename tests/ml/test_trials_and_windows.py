"""The trial ledger in MLflow, the registered training window, and the look-ahead check."""

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from ml.errors import LeakageError
from ml.features import DEFAULT_FEATURE_SET
from ml.lookahead import lookahead_changes
from ml.models import SignalModel
from ml.oos_window import TrainingWindow, check_oos_start
from ml.trials import record_trial, trial_stats

WINDOW = TrainingWindow(
    train_start=pd.Timestamp("2024-01-01", tz="UTC"), train_end=pd.Timestamp("2024-01-10 12:00", tz="UTC"),
    label_end=pd.Timestamp("2024-01-10 12:15", tz="UTC"), horizon=15, purge=15, embargo=30,
    test_start=pd.Timestamp("2024-01-10 12:46", tz="UTC"), test_end=pd.Timestamp("2024-01-12", tz="UTC"))


def test_trial_ledger_counts_every_candidate(tmp_path):
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert trial_stats(client, "m").n_trials == 0
    for i, sr in enumerate([0.01, -0.02, 0.03]):
        record_trial(client, "m", {"family": "logreg", "threshold": 0.55, "horizon": 15, "retrain": i}, sr)
    record_trial(client, "m", {"family": "lgbm", "kind": "re-evaluation"}, float("nan"))
    record_trial(client, "other", {"family": "tcn"}, 0.5)
    stats = trial_stats(client, "m")
    assert stats.n_trials == 4  # the NaN-Sharpe candidate counts too
    assert stats.sr_variance == pytest.approx(np.var([0.01, -0.02, 0.03], ddof=1))


def test_window_tags_round_trip_and_refuse_an_overlapping_start():
    back = TrainingWindow.from_tags(WINDOW.tags())
    assert back == WINDOW
    assert check_oos_start(back, pd.Timestamp("2024-01-11")) == pd.Timestamp("2024-01-11", tz="UTC")
    with pytest.raises(LeakageError, match="overlaps the training"):
        check_oos_start(back, pd.Timestamp("2024-01-05", tz="UTC"))
    with pytest.raises(LeakageError, match="overlaps"):  # inside the purge/embargo gap
        check_oos_start(back, pd.Timestamp("2024-01-10 12:30", tz="UTC"))


def test_a_version_without_window_tags_is_refused():
    with pytest.raises(LeakageError, match="carries no training window"):
        TrainingWindow.from_tags({"window.train_start": "2024-01-01"}, "m v3")


class _Peeking:
    """A row model that reads the *next* row's first feature: look-ahead in a batch predict."""

    lookback = 1

    def __init__(self, peek: bool):
        self.peek = peek

    def predict_proba(self, X, groups=None):
        x = X[:, 0]  # ret_1, the last bar's return
        if self.peek:
            x = np.r_[x[1:], 0.0]
        return np.where(x > 0, 0.9, 0.1)


def _bars(n=900, seed=0):
    rng = np.random.default_rng(seed)
    mid = 1.1 * np.exp(np.cumsum(rng.normal(0, 2e-4, n)))
    ts = pd.date_range("2024-01-02", periods=n, freq="1min", tz="UTC")
    half = 5e-6
    o = np.r_[mid[0], mid[:-1]]
    hi, lo = np.maximum(o, mid) + 1e-5, np.minimum(o, mid) - 1e-5
    return pd.DataFrame({"ts": ts, "bid_open": o - half, "bid_high": hi - half, "bid_low": lo - half,
                         "bid_close": mid - half, "ask_open": o + half, "ask_high": hi + half,
                         "ask_low": lo + half, "ask_close": mid + half, "spread_mean": 2 * half,
                         "spread_max": 2 * half, "tick_count": 10, "volume": 1.0})


def test_lookahead_check_passes_a_causal_model_and_catches_a_peeking_one():
    bars = _bars()
    honest = SignalModel(_Peeking(False), DEFAULT_FEATURE_SET, "test", threshold=0.55)
    peeking = SignalModel(_Peeking(True), DEFAULT_FEATURE_SET, "test", threshold=0.55)
    assert lookahead_changes(honest, "EURUSD", bars) == 0
    assert lookahead_changes(peeking, "EURUSD", bars) > 0
