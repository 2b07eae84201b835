"""Served models: an MLflow pyfunc that turns a feature row into a signal."""

from __future__ import annotations

from typing import Any

import mlflow
import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline


class SignalModel(mlflow.pyfunc.PythonModel):
    """Wraps a fitted scikit-learn classifier pipeline; emits prob_up and a -1/0/+1 signal.

    ``predict_row`` is the realtime fast path: the scaler and logistic regression are folded
    into one weight vector, so a single row costs a dot product instead of a pandas round trip.
    """

    def __init__(self, pipeline: Pipeline, columns: list[str], threshold: float = 0.55):
        self.pipeline = pipeline
        self.columns = list(columns)
        self.threshold = float(threshold)
        self._w, self._b = _fold_linear(pipeline)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        """Batch prediction over a frame holding ``columns``."""
        prob = self.pipeline.predict_proba(model_input[self.columns])[:, 1]
        return pd.DataFrame({"prob_up": prob, "signal": signal_from_prob(prob, self.threshold)})

    def predict_row(self, x: np.ndarray) -> float:
        """P(up) for one feature vector in ``columns`` order."""
        if self._w is None:
            return float(self.pipeline.predict_proba(x.reshape(1, -1))[0, 1])
        z = float(x @ self._w + self._b)
        return 1.0 / (1.0 + np.exp(-z))


def signal_from_prob(prob: np.ndarray, threshold: float) -> np.ndarray:
    """+1 above ``threshold``, -1 below ``1 - threshold``, 0 in between."""
    return np.where(prob > threshold, 1, np.where(prob < 1.0 - threshold, -1, 0)).astype(np.int64)


def _fold_linear(pipeline: Pipeline) -> tuple[np.ndarray | None, float]:
    """Fold StandardScaler + LogisticRegression into (w, b); (None, 0) for other models."""
    steps = dict(pipeline.named_steps)
    scaler, clf = steps.get("scale"), steps.get("clf")
    if scaler is None or clf is None or not hasattr(clf, "coef_"):
        return None, 0.0
    coef = clf.coef_[0] / scaler.scale_
    return coef.astype(np.float64), float(clf.intercept_[0] - coef @ scaler.mean_)
