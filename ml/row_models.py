"""The row model families (one feature row per prediction): logistic regression and LightGBM.

Every family standardises its inputs itself and exposes the fitted preprocessing, so a logged
model carries everything it needs. Labels may hold NaN (a bar without a training target): row
models skip those rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# scikit-learn and LightGBM load inside the classes that use them: the realtime service imports
# this module and should pay only for the family it actually serves.


def labelled_rows(X: np.ndarray, y: np.ndarray, w: np.ndarray | None = None,
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The rows of a row model's training data that carry a label (and their weights)."""
    y = np.asarray(y, dtype=np.float64)
    keep = np.isfinite(y)
    return (np.asarray(X)[keep], y[keep].astype(int),
            None if w is None else np.asarray(w, dtype=np.float64)[keep])


class _Standardised:
    """Mean/std scaling fitted on the training rows only."""

    mean_: np.ndarray
    std_: np.ndarray

    def _fit_scaler(self, X: np.ndarray) -> np.ndarray:
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.std_ = np.where(std > 0, std, 1.0)
        return self._scale(X)

    def _scale(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean_) / self.std_

    def preprocessing(self) -> dict[str, Any]:
        """The fitted scaler, as plain lists."""
        return {"kind": "standard", "mean": self.mean_.tolist(), "std": self.std_.tolist()}


class LogRegClassifier(_Standardised):
    """L2 logistic regression (scikit-learn fits it); prediction folds the scaler and the
    weights into one dot product, so a fitted model is just ``(w, b)`` and needs no sklearn.

    The pickled form (what MLflow logs) keeps the fitted parameters and drops the estimator:
    unpickling an sklearn object imports scikit-learn and SciPy, about a second of the
    realtime service's start-up, for a model whose prediction is ``sigmoid(x @ w + b)``.
    """

    lookback = 1

    def __init__(self, C: float = 1.0, max_iter: int = 1000):
        from sklearn.linear_model import LogisticRegression

        self.model = LogisticRegression(C=C, max_iter=max_iter)

    def fit(self, X, y, X_val=None, y_val=None, groups=None, groups_val=None,
            sample_weight=None) -> LogRegClassifier:
        X, y, sample_weight = labelled_rows(X, y, sample_weight)
        self.model.fit(self._fit_scaler(X), y, sample_weight=sample_weight)
        self.coef_, self.intercept_ = self.model.coef_[0].copy(), float(self.model.intercept_[0])
        coef = self.coef_ / self.std_
        self._w, self._b = coef, float(self.intercept_ - coef @ self.mean_)
        return self

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "model"}

    def predict_proba(self, X, groups=None) -> np.ndarray:
        # The binary logistic model's P(class 1), as sklearn's predict_proba computes it.
        return _sigmoid(np.asarray(X, dtype=np.float64) @ self._w + self._b)

    def predict_one(self, x: np.ndarray) -> float:
        return 1.0 / (1.0 + np.exp(-(float(x @ self._w) + self._b)))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)), written through tanh so large |z| neither overflows nor warns."""
    return 0.5 + 0.5 * np.tanh(0.5 * z)


class LightGBMClassifier(_Standardised):
    """Gradient-boosted trees (LightGBM) with early stopping on the validation rows."""

    lookback = 1

    def __init__(self, n_estimators: int = 300, learning_rate: float = 0.05, num_leaves: int = 15,
                 min_child_samples: int = 50, seed: int = 7):
        import lightgbm as lgb

        self.model = lgb.LGBMClassifier(
            n_estimators=n_estimators, learning_rate=learning_rate, num_leaves=num_leaves,
            min_child_samples=min_child_samples, random_state=seed, n_jobs=1, verbose=-1,
            deterministic=True,
        )

    def fit(self, X, y, X_val=None, y_val=None, groups=None, groups_val=None,
            sample_weight=None) -> LightGBMClassifier:
        import lightgbm as lgb

        kw: dict[str, Any] = {}
        X, y, sample_weight = labelled_rows(X, y, sample_weight)
        Xs = self._fit_scaler(X)
        if X_val is not None and len(X_val):
            X_val, y_val, _ = labelled_rows(X_val, y_val)
            kw = {"eval_X": (self._scale(X_val),), "eval_y": (y_val,),
                  "callbacks": [lgb.early_stopping(20, verbose=False)]}
        self.model.fit(Xs, y, sample_weight=sample_weight, **kw)
        self._booster = self.model.booster_
        return self

    def predict_proba(self, X, groups=None) -> np.ndarray:
        proba = self.model.predict_proba(self._scale(X))
        if not isinstance(proba, np.ndarray):  # sparse output only comes with pred_contrib
            raise TypeError(f"LightGBM predict_proba returned {type(proba).__name__}, not an array")
        return proba[:, 1]

    def predict_one(self, x: np.ndarray) -> float:
        # The booster directly, skipping the sklearn wrapper's validation.
        return float(self._booster.predict(self._scale(x).reshape(1, -1))[0])
