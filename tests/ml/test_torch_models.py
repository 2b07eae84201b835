"""The torch classifiers: they learn, stop early, repeat themselves, pickle, and keep symbols apart."""

from __future__ import annotations

import json
import pickle

import cloudpickle
import numpy as np
import pytest
import torch

from ml.errors import InvalidInputError, MLError, NotEnoughDataError
from ml.nets.trainer import amp_dtype, select_device
from ml.nets.windows import build_windows
from ml.torch_models import TorchMLPClassifier, TorchTCNClassifier

SYMBOLS = np.array(["EURUSD", "GBPUSD", "USDJPY"])


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny nets on a shared 2-core box: intra-op threads only add contention."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def linear_rule(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Six features on different scales; the label is a noisy linear rule of three of them."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)) * [1.0, 10.0, 0.1, 1.0, 5.0, 1.0] + [0, 100, 0, 0, -3, 0]
    z = X[:, 0] + 0.1 * (X[:, 1] - 100) - 10 * X[:, 2] + 0.3 * rng.normal(size=n)
    return X, (z > 0).astype(np.int64)


def lagged_sign(n: int, lag: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interleaved symbols (sorted by ts, symbol); each row's label is the sign of its own symbol's
    feature ``lag`` rows earlier. A window cut across the interleaved rows sees another symbol there."""
    rng = np.random.default_rng(seed)
    groups = np.tile(SYMBOLS, n // len(SYMBOLS))
    X = rng.choice([-1.0, 1.0], size=(len(groups), 1)) + 0.1 * rng.normal(size=(len(groups), 1))
    y = np.zeros(len(groups), dtype=np.int64)
    for sym in SYMBOLS:
        rows = np.flatnonzero(groups == sym)
        y[rows[lag:]] = X[rows[:-lag], 0] > 0
    return X, y, groups


@pytest.fixture(scope="module")
def mlp_data():
    X, y = linear_rule(3500)
    return X[:2000], y[:2000], X[2000:2500], y[2000:2500], X[2500:], y[2500:]


@pytest.fixture(scope="module")
def mlp(mlp_data):
    X, y, Xv, yv, _, _ = mlp_data
    return TorchMLPClassifier(hidden=(32, 16), lr=3e-3, batch_size=256, max_epochs=25).fit(X, y, Xv, yv)


@pytest.fixture(scope="module")
def seq_data():
    X, y, g = lagged_sign(2700, lag=3)
    train, val, test = slice(0, 1800), slice(1800, 2100), slice(2100, None)
    return X[train], y[train], g[train], X[val], y[val], g[val], X[test], y[test], g[test]


@pytest.fixture(scope="module")
def tcn(seq_data):
    X, y, g, Xv, yv, gv, *_ = seq_data
    return TorchTCNClassifier(lookback=4, channels=16, lr=3e-3, batch_size=128, max_epochs=15).fit(
        X, y, Xv, yv, g, gv
    )


def test_mlp_learns_the_rule_out_of_sample(mlp, mlp_data):
    *_, Xt, yt = mlp_data
    prob = mlp.predict_proba(Xt)
    assert prob.shape == (len(Xt),) and np.all((prob >= 0) & (prob <= 1))
    assert ((prob > 0.5) == yt).mean() > 0.85
    assert mlp.device_ == str(select_device(None))


def test_mlp_predict_one_equals_predict_proba(mlp, mlp_data):
    *_, Xt, _ = mlp_data
    one = np.array([mlp.predict_one(row) for row in Xt[:200]])
    np.testing.assert_allclose(one, mlp.predict_proba(Xt[:200]), rtol=0, atol=1e-6)


def test_tcn_learns_per_symbol_lag_and_windows_never_cross_symbols(tcn, seq_data):
    *_, Xt, yt, gt = seq_data
    prob = tcn.predict_proba(Xt, gt)
    ok = ~np.isnan(prob)
    # the first lookback-1 rows of each symbol have no full window
    assert (~ok).sum() == len(SYMBOLS) * (tcn.lookback - 1)
    assert ((prob[ok] > 0.5) == yt[ok]).mean() > 0.95
    # the same model fed windows cut across the interleaved rows sees the wrong symbol's lag
    crossed = tcn.predict_proba(Xt, None)
    ok = ~np.isnan(crossed)
    assert ((crossed[ok] > 0.5) == yt[ok]).mean() < 0.75


def test_tcn_numpy_fast_path_equals_the_torch_forward():
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(400, 3)), rng.integers(0, 2, 400)
    # lookback 32 needs four blocks with dilations up to 8, and a 1x1 skip on the first
    clf = TorchTCNClassifier(lookback=32, channels=8, max_epochs=1).fit(X[:300], y[:300], X[300:], y[300:])
    for start in range(0, 60, 7):
        window = X[start : start + 32] * 3  # off the training scale: large activations too
        assert abs(clf.predict_one(window) - clf.predict_one_torch(window)) < 1e-6


def test_tcn_predict_proba_rows_equal_predict_one_on_each_symbols_own_window(tcn, seq_data):
    *_, Xt, _, gt = seq_data
    prob = tcn.predict_proba(Xt, gt)
    for sym in SYMBOLS:
        rows = np.flatnonzero(gt == sym)
        for k in range(tcn.lookback - 1, 40):
            window = Xt[rows[k - tcn.lookback + 1 : k + 1]]
            assert abs(tcn.predict_one(window) - prob[rows[k]]) < 1e-6


def test_build_windows_keeps_each_window_inside_one_group():
    groups = np.array(["b", "a", "b", "a", "a", "c", "b", "a"])
    w = build_windows(len(groups), 2, groups)
    windows = w.window_rows()
    assert len(windows) == 8 - 3  # one row of each group starts without a full window
    for rows in windows:
        assert len(set(groups[rows])) == 1 and rows[0] < rows[1]
        same = np.flatnonzero(groups == groups[rows[0]])
        assert np.searchsorted(same, rows[1]) == np.searchsorted(same, rows[0]) + 1  # consecutive


def test_early_stopping_stops_before_max_epochs_and_restores_the_best_weights():
    rng = np.random.default_rng(3)
    X, Xv = rng.normal(size=(300, 8)), rng.normal(size=(200, 8))
    y, yv = rng.integers(0, 2, 300), rng.integers(0, 2, 200)  # pure noise: a big net can only overfit
    # cpu: on cuda the recorded loss comes from a bf16 forward and would not match to 1e-5
    clf = TorchMLPClassifier(hidden=(128, 128), lr=1e-2, batch_size=64, max_epochs=200, patience=3,
                             device="cpu")
    report = clf.fit(X, y, Xv, yv).report_
    assert report.epochs_run < 200
    assert report.best_epoch == report.epochs_run - 1 - 3
    losses = [h["val_loss"] for h in report.history]
    assert report.best_val_loss == min(losses) < losses[-1]
    p = clf.predict_proba(Xv)
    bce = -np.mean(yv * np.log(p) + (1 - yv) * np.log(1 - p))
    assert bce == pytest.approx(report.best_val_loss, abs=1e-5)


@pytest.mark.parametrize("make", [
    lambda seed: TorchMLPClassifier(hidden=(16,), max_epochs=3, seed=seed, dropout=0.2),
    lambda seed: TorchTCNClassifier(lookback=4, channels=8, max_epochs=2, seed=seed),
])
def test_same_seed_gives_identical_predictions(make, seq_data):
    X, y, g, Xv, yv, gv, Xt, _, gt = seq_data
    first = make(7).fit(X, y, Xv, yv, g, gv).predict_proba(Xt, gt)
    again = make(7).fit(X, y, Xv, yv, g, gv).predict_proba(Xt, gt)
    other = make(8).fit(X, y, Xv, yv, g, gv).predict_proba(Xt, gt)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other, equal_nan=True)


@pytest.mark.parametrize("dumps", [pickle.dumps, cloudpickle.dumps])
def test_fitted_models_survive_pickling(dumps, mlp, tcn, mlp_data, seq_data):
    Xt, gt = seq_data[6], seq_data[8]
    tcn2 = pickle.loads(dumps(tcn))
    np.testing.assert_array_equal(tcn2.predict_proba(Xt, gt), tcn.predict_proba(Xt, gt))
    assert tcn2.predict_one(Xt[:4]) == tcn.predict_one(Xt[:4])
    mlp2 = pickle.loads(dumps(mlp))
    row = mlp_data[4][0]
    np.testing.assert_array_equal(mlp2.predict_proba(mlp_data[4]), mlp.predict_proba(mlp_data[4]))
    assert mlp2.predict_one(row) == mlp.predict_one(row)
    assert mlp2.preprocessing() == mlp.preprocessing()


def test_preprocessing_is_the_training_scaler_as_plain_json(mlp, mlp_data):
    X = mlp_data[0]
    pre = json.loads(json.dumps(mlp.preprocessing()))
    np.testing.assert_allclose(pre["mean"], X.mean(axis=0))
    np.testing.assert_allclose(pre["std"], X.std(axis=0))
    assert pre["lookback"] == 1 and pre["n_features"] == 6
    assert TorchMLPClassifier(**mlp.get_params()).get_params() == mlp.get_params()


def test_device_selection_and_mixed_precision_policy():
    assert select_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert select_device(None).type == "cpu"
        with pytest.raises(MLError, match="no CUDA"):
            select_device("cuda")
    assert amp_dtype("cpu", bf16_supported=True) is None
    assert amp_dtype("cuda", bf16_supported=True) is torch.bfloat16
    assert amp_dtype("cuda", bf16_supported=False) is torch.float16


def _with(arr: np.ndarray, row: int, value: float) -> np.ndarray:
    out = arr.copy()
    out[row, 0] = value
    return out


@pytest.mark.parametrize("case, error, match", [
    ("nan_x", InvalidInputError, "NaN/inf"),
    ("inf_x_val", InvalidInputError, "X_val holds 1 NaN/inf"),
    ("short_y", InvalidInputError, "expected"),
    ("one_class", InvalidInputError, "only class"),
    ("bad_labels", InvalidInputError, "only 0 and 1"),
    ("bad_groups", InvalidInputError, "groups has shape"),
    ("val_features", InvalidInputError, "fitted on"),
    ("short_groups", NotEnoughDataError, "training windows"),
])
def test_bad_fit_input_gives_clear_errors(case, error, match, seq_data):
    X, y, g, Xv, yv, gv, *_ = seq_data
    X, y, g, Xv, yv, gv = X[:300], y[:300], g[:300], Xv[:60], yv[:60], gv[:60]
    kwargs = {"X": X, "y": y, "X_val": Xv, "y_val": yv, "groups": g, "groups_val": gv}
    changes = {
        "nan_x": {"X": _with(X, 5, np.nan)},
        "inf_x_val": {"X_val": _with(Xv, 2, np.inf)},
        "short_y": {"y": y[:-1]},
        "one_class": {"y": np.ones_like(y)},
        "bad_labels": {"y": y * 2},
        "bad_groups": {"groups": g[:10]},
        "val_features": {"X_val": np.hstack([Xv, Xv])},
        # 300 rows over 300 symbols: no symbol has 4 consecutive rows
        "short_groups": {"groups": np.arange(300)},
    }
    kwargs.update(changes[case])
    with pytest.raises(error, match=match):
        TorchTCNClassifier(lookback=4, max_epochs=1).fit(**kwargs)


def test_bad_predict_input_gives_clear_errors(mlp, tcn):
    with pytest.raises(MLError, match="not fitted"):
        TorchMLPClassifier().predict_proba(np.zeros((2, 6)))
    with pytest.raises(InvalidInputError, match="fitted on 6"):
        mlp.predict_proba(np.zeros((3, 5)))
    with pytest.raises(InvalidInputError, match="shape"):
        mlp.predict_one(np.zeros(5))
    with pytest.raises(InvalidInputError, match="NaN/inf"):
        mlp.predict_one(np.array([0, 0, np.inf, 0, 0, 0.0]))
    with pytest.raises(InvalidInputError, match="window of shape"):
        tcn.predict_one(np.zeros((3, 1)))  # too few rows for the lookback
    with pytest.raises(InvalidInputError, match="NaN/inf"):
        tcn.predict_one(np.full((4, 1), np.nan))
    with pytest.raises(InvalidInputError, match="lookback >= 2"):
        TorchTCNClassifier(lookback=1)
    # fewer rows than the lookback in every symbol: nothing to predict, so all NaN
    assert np.isnan(tcn.predict_proba(np.zeros((3, 1)), np.array(["a", "a", "a"]))).all()
