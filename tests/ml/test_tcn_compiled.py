"""The compiled one-window TCN forward equals the torch model (and the numpy plan) on every shape,
to float32 rounding: padded channels and steps included."""

import pickle

import numpy as np
import pytest

from ml.errors import InvalidInputError
from ml.nets.tcn import TorchTCNClassifier


def _fit(n_features: int, **kw) -> tuple[TorchTCNClassifier, np.ndarray]:
    rng = np.random.default_rng(11)
    X = rng.normal(size=(600, n_features))
    y = (X[:, 0] + rng.normal(scale=0.5, size=600) > 0).astype(int)
    return TorchTCNClassifier(max_epochs=1, **kw).fit(X[:450], y[:450], X[450:], y[450:]), X


@pytest.mark.parametrize(
    ("n_features", "kw"),
    [
        (12, {"lookback": 32, "channels": 32}),  # the served shape: four blocks, a 1x1 skip first
        (32, {"lookback": 32, "channels": 32}),  # identity skips everywhere
        (5, {"lookback": 20, "channels": 16, "kernel_size": 2}),
        (4, {"lookback": 9, "channels": 8, "kernel_size": 5}),
    ],
)
def test_compiled_forward_equals_torch_and_the_numpy_plan(n_features, kw):
    clf, X = _fit(n_features, **kw)
    lb = clf.lookback
    for start in range(0, 120, 13):
        for scale in (1.0, 4.0):  # off the training scale too: large activations
            window = X[start : start + lb] * scale
            fast = clf.predict_one(window)
            assert abs(fast - clf.predict_one_torch(window)) < 1e-6
            # the compiled blocks run in float32, like torch; the numpy plan in float64
            assert abs(fast - clf.predict_one_numpy(window)) < 1e-6


def test_compiled_forward_refuses_non_finite_windows_and_wrong_shapes():
    clf, X = _fit(6, lookback=16, channels=8)
    window = X[:16].copy()
    window[0, 3] = np.nan  # a row the last logit may not even read: still refused
    with pytest.raises(InvalidInputError):
        clf.predict_one(window)
    window[0, 3] = np.inf
    with pytest.raises(InvalidInputError):
        clf.predict_one(window)
    with pytest.raises(InvalidInputError):
        clf.predict_one(X[:15])


def test_a_pickled_model_rebuilds_its_compiled_state():
    clf, X = _fit(6, lookback=16, channels=8)
    window = X[20:36]
    expected = clf.predict_one(window)
    state = pickle.dumps(clf)
    assert b"PackedTCN" not in state  # the packed arrays are derived, never stored
    again = pickle.loads(state)
    assert again.predict_one(window) == expected
