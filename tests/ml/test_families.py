"""Model families: the logistic regression's own prediction and its sklearn-free pickled form."""

import pickle
import subprocess
import sys

import numpy as np
import pytest

from ml.errors import MLError
from ml.families import make_classifier
from tests.conftest import REPO


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(600, 5)) * [1.0, 10.0, 0.01, 3.0, 1e-4] + [0.0, 5.0, 1.1, -2.0, 0.0]
    y = (X[:, 0] + 0.3 * X[:, 1] / 10 + rng.normal(scale=0.8, size=600) > 0.5).astype(int)
    return X, y


def test_logreg_probabilities_equal_sklearns(data):
    X, y = data
    clf = make_classifier("logreg").fit(X, y)
    expected = clf.model.predict_proba(clf._scale(X))[:, 1]
    np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=0, atol=1e-12)
    assert clf.predict_one(X[17]) == pytest.approx(expected[17], abs=1e-12)
    assert 0.2 < expected.mean() < 0.8  # a fitted model, not a constant


def test_logreg_pickle_holds_parameters_not_the_estimator(data):
    X, y = data
    clf = make_classifier("logreg").fit(X, y)
    blob = pickle.dumps(clf)
    assert b"sklearn" not in blob
    # A fresh interpreter unpickles and predicts without importing scikit-learn or SciPy.
    code = (
        "import pickle, sys, numpy as np; clf = pickle.loads(sys.stdin.buffer.read()); "
        f"x = np.array({X[:3].tolist()!r}); print(clf.predict_proba(x).tolist()); "
        "print(sorted(m for m in ('sklearn', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=blob, cwd=REPO, capture_output=True, check=True
    ).stdout.decode().splitlines()
    np.testing.assert_allclose(eval(out[0]), clf.predict_proba(X[:3]), rtol=0, atol=1e-15)
    assert out[1] == "[]"


def test_extreme_scores_saturate_without_overflow(data):
    X, y = data
    clf = make_classifier("logreg").fit(X, y)
    with np.errstate(all="raise"):
        p = clf.predict_proba(np.array([[1e6, 0, 0, 0, 0], [-1e6, 0, 0, 0, 0]]))
    assert p[0] == pytest.approx(1.0) and p[1] == pytest.approx(0.0)


def test_unknown_family_is_refused():
    with pytest.raises(MLError, match="unknown model family"):
        make_classifier("svm")
