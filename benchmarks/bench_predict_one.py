"""predict_one: the served model's one-row fast path vs scikit-learn predict_proba on the same model.

Prints one JSON line per family; ratio = baseline time / our time (higher is better).
"""

from __future__ import annotations

import json
import timeit

import numpy as np

from ml.families import make_classifier
from ml.features import DEFAULT_FEATURE_SET


def _data(n: int = 5000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, len(DEFAULT_FEATURE_SET.columns)))
    y = (X[:, 0] + 0.5 * X[:, 3] + rng.normal(scale=1.0, size=n) > 0).astype(int)
    return X, y


def _per_call_us(fn, number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main() -> None:
    X, y = _data()
    row = X[-1].copy()
    clf = make_classifier("logreg").fit(X[:4000], y[:4000], X[4000:], y[4000:])
    # The baseline is the same fitted estimator through scikit-learn's own API.
    def baseline():
        return clf.model.predict_proba(clf._scale(row.reshape(1, -1)))[0, 1]
    ours, base = _per_call_us(lambda: clf.predict_one(row), 20000), _per_call_us(baseline, 2000)
    assert abs(clf.predict_one(row) - baseline()) < 1e-12
    print(json.dumps({"name": "predict_one", "value": round(ours, 3), "unit": "us/row (logreg fast path)",
                      "baseline": round(base, 3), "ratio": round(base / ours, 2)}))


if __name__ == "__main__":
    main()
