"""Training: a time-ordered split with purge and embargo, a scikit-learn baseline, MLflow logging."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ml.errors import NotEnoughDataError
from ml.features import FeatureSet
from ml.models import SignalModel

log = logging.getLogger(__name__)

PIP_REQUIREMENTS = ["scikit-learn==1.9.1", "pandas==2.3.3", "numpy==2.4.6", "mlflow==3.17.2"]


@dataclass(frozen=True)
class TrainConfig:
    """What to train on and how."""

    horizon: int = 15
    dead_zone: float = 0.0
    test_fraction: float = 0.3
    embargo_bars: int = 30
    C: float = 1.0
    threshold: float = 0.55
    min_rows: int = 200


@dataclass
class TrainResult:
    """A trained, logged and registered model version."""

    model_uri: str
    run_id: str
    version: str
    test_start: pd.Timestamp
    metrics: dict[str, float] = field(default_factory=dict)


def split_train_test(frame: pd.DataFrame, cfg: TrainConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split by time: the last ``test_fraction`` is out of sample.

    Training rows whose label window (``horizon`` bars) reaches into the test period are purged,
    and an embargo gap of ``embargo_bars`` minutes separates the two.
    """
    times = np.sort(frame["ts"].unique())
    if len(times) < cfg.min_rows:
        raise NotEnoughDataError(f"{len(times)} bar times to train on, need at least {cfg.min_rows}")
    test_start = times[int(len(times) * (1 - cfg.test_fraction))]
    purge_from = pd.Timestamp(test_start) - pd.Timedelta(minutes=cfg.horizon + cfg.embargo_bars)
    train = frame[frame["ts"] < purge_from]
    test = frame[frame["ts"] >= test_start]
    return train, test


def train_signal_model(
    frame: pd.DataFrame, fs: FeatureSet, cfg: TrainConfig, registered_name: str,
    lineage: dict[str, object],
) -> TrainResult:
    """Fit the logistic-regression baseline, log it to the active MLflow tracking URI and register it."""
    train, test = split_train_test(frame, cfg)
    X_train, y_train = train[fs.columns], train["label"].astype(int)
    if y_train.nunique() < 2:
        raise NotEnoughDataError("training labels hold a single class")
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(C=cfg.C, max_iter=1000))])
    pipe.fit(X_train, y_train)
    model = SignalModel(pipe, fs.columns, cfg.threshold)
    metrics = {
        "train_accuracy": float(pipe.score(X_train, y_train)),
        "test_accuracy": float(pipe.score(test[fs.columns], test["label"].astype(int))),
        "train_rows": float(len(train)), "test_rows": float(len(test)),
    }
    example = X_train.head(5)
    with mlflow.start_run(run_name=f"train-{registered_name}") as run:
        mlflow.log_params({**fs.describe(), **cfg.__dict__, "model_family": "logreg"})
        mlflow.set_tags({f"lineage.{k}": str(v) for k, v in lineage.items()})
        mlflow.log_metrics(metrics)
        info = mlflow.pyfunc.log_model(
            name="model", python_model=model, input_example=example,
            signature=infer_signature(example, model.predict(None, example)),
            pip_requirements=PIP_REQUIREMENTS, registered_model_name=registered_name,
        )
    log.info("registered %s version %s (%s)", registered_name, info.registered_model_version, info.model_uri)
    return TrainResult(info.model_uri, run.info.run_id, str(info.registered_model_version),
                       pd.Timestamp(test["ts"].iloc[0]), metrics)
