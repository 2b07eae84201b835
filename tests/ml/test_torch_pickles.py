"""A fitted torch classifier pickles its weights, not its network: a fresh interpreter unpickles it
and predicts one row without importing torch, with torch's probabilities; pickles written while
the network itself was pickled still load."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import cloudpickle
import numpy as np
import pytest

import ml.nets.mlp
import ml.nets.tcn
import ml.nets.trainer
from ml.nets import modules, report
from ml.nets.mlp import TorchMLPClassifier
from ml.nets.tcn import TorchTCNClassifier
from tests.conftest import REPO

SERVE_ONE = """
import json, pickle, sys
import numpy as np
with open(sys.argv[1], "rb") as f:
    clf = pickle.load(f)
probs = [clf.predict_one(x) for x in np.load(sys.argv[2])]
print(json.dumps({"torch": "torch" in sys.modules, "probs": probs}))
"""


def _fitted(kind: str) -> tuple[TorchMLPClassifier | TorchTCNClassifier, np.ndarray, np.ndarray]:
    """A small fitted classifier, inputs off the training scale, and torch's probabilities for them."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(500, 5)) * [1.0, 10.0, 0.1, 1.0, 3.0]
    y = (X[:, 0] + 0.1 * X[:, 1] + rng.normal(scale=0.5, size=500) > 0).astype(int)
    if kind == "mlp":
        mlp = TorchMLPClassifier(hidden=(16, 8), max_epochs=3).fit(X[:400], y[:400], X[400:], y[400:])
        rows = X[400:440] * 2
        return mlp, rows, mlp.predict_proba(rows)
    tcn = TorchTCNClassifier(lookback=8, channels=8, max_epochs=2).fit(X[:400], y[:400], X[400:], y[400:])
    windows = np.stack([X[400 + i : 408 + i] * 2 for i in range(0, 60, 6)])
    return tcn, windows, np.array([tcn.predict_one_torch(w) for w in windows])


@pytest.mark.parametrize("kind", ["mlp", "tcn"])
def test_a_fresh_interpreter_serves_a_pickled_classifier_without_torch(kind: str, tmp_path: Path):
    clf, inputs, torch_probs = _fitted(kind)
    (tmp_path / "clf.pkl").write_bytes(cloudpickle.dumps(clf))  # as MLflow logs it
    np.save(tmp_path / "inputs.npy", inputs)
    out = subprocess.run(
        [sys.executable, "-c", SERVE_ONE, str(tmp_path / "clf.pkl"), str(tmp_path / "inputs.npy")],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    served = json.loads(out.stdout)
    assert served["torch"] is False
    np.testing.assert_allclose(served["probs"], torch_probs, rtol=0, atol=1e-6)
    # the network is rebuilt from the pickled weights when a torch path asks for it
    again = pickle.loads(cloudpickle.dumps(clf))
    np.testing.assert_array_equal([again.predict_one(x) for x in inputs], served["probs"])
    if kind == "mlp":
        np.testing.assert_array_equal(again.predict_proba(inputs), torch_probs)
    else:
        np.testing.assert_array_equal([again.predict_one_torch(w) for w in inputs], torch_probs)


@pytest.mark.parametrize("kind", ["mlp", "tcn"])
def test_a_classifier_pickled_with_its_torch_network_still_loads(kind: str):
    clf, inputs, torch_probs = _fitted(kind)
    # what earlier pickles held: the network as ``net_``, no numpy weights
    old = {k: v for k, v in clf.__getstate__().items() if k != "weights_"} | {"net_": clf.net_}
    restored = type(clf).__new__(type(clf))
    restored.__setstate__(pickle.loads(pickle.dumps(old)))
    for name, weight in clf.weights_.items():
        np.testing.assert_array_equal(restored.weights_[name], weight)
    np.testing.assert_array_equal(
        [restored.predict_one(x) for x in inputs], [clf.predict_one(x) for x in inputs]
    )
    again = pickle.loads(pickle.dumps(restored))  # and it pickles in the new form from then on
    assert "net_" not in again.__dict__ and "_net" not in again.__dict__
    np.testing.assert_allclose([again.predict_one(x) for x in inputs], torch_probs, rtol=0, atol=1e-6)


def test_the_classes_earlier_pickles_name_are_still_found_there():
    assert ml.nets.mlp.MLPNet is modules.MLPNet
    assert ml.nets.tcn.TCNNet is modules.TCNNet and ml.nets.tcn.CausalBlock is modules.CausalBlock
    assert ml.nets.trainer.TrainReport is report.TrainReport
    with pytest.raises(AttributeError):
        ml.nets.mlp.NoSuchNet  # noqa: B018
