"""The served model: an MLflow pyfunc around a classifier and the feature set it was trained on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

from ml.features import FeatureSet

if TYPE_CHECKING:
    from ml.families import Classifier


class SignalModel(PythonModel):
    """prob_up and a -1/0/+1 signal from feature rows.

    ``predict_row`` is the realtime fast path (one feature vector, or the last ``lookback``
    vectors for a sequence model) and bypasses pandas entirely.
    """

    def __init__(self, classifier: Classifier, feature_set: FeatureSet, family: str,
                 threshold: float = 0.55):
        self.classifier = classifier
        self.feature_set = feature_set
        self.family = family
        self.threshold = float(threshold)

    @property
    def columns(self) -> list[str]:
        """Model inputs, in order."""
        return self.feature_set.columns

    @property
    def lookback(self) -> int:
        """Feature rows per prediction (1 for row models)."""
        return int(self.classifier.lookback)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        """Batch prediction over a frame holding ``columns`` (and ``symbol`` for sequence models)."""
        groups = model_input["symbol"].to_numpy() if "symbol" in model_input else None
        prob = self.classifier.predict_proba(model_input[self.columns].to_numpy(np.float64), groups)
        return pd.DataFrame({"prob_up": prob, "signal": signal_from_prob(prob, self.threshold)})

    def predict_row(self, x: np.ndarray) -> float:
        """P(up) for one input: shape (F,) for row models, (lookback, F) for sequence models."""
        return self.classifier.predict_one(x)


def signal_from_prob(prob: np.ndarray, threshold: float) -> np.ndarray:
    """+1 above ``threshold``, -1 below ``1 - threshold``, 0 in between (and where prob is NaN)."""
    return np.where(prob > threshold, 1, np.where(prob < 1.0 - threshold, -1, 0)).astype(np.int64)


def signals_for_bars(model: SignalModel, symbol: str, bars: pd.DataFrame, feats: pd.DataFrame) -> np.ndarray:
    """One signal per bar: the model's view at that bar's close; flat where it has none."""
    rows = feats.dropna(subset=model.columns)
    rows = rows[np.isfinite(rows[model.columns]).all(axis=1)]
    signal = pd.Series(0, index=pd.DatetimeIndex(bars["ts"]), dtype=np.int64)
    if len(rows):
        prob = model.predict(None, rows.assign(symbol=symbol))["prob_up"].to_numpy()
        predicted = pd.Series(signal_from_prob(prob, model.threshold), index=pd.DatetimeIndex(rows["ts"]))
        signal.update(predicted.reindex(signal.index).dropna())
    return signal.to_numpy(dtype=np.int64)
