"""Training: walk-forward cross-validation, a purged out-of-sample holdout, MLflow logging."""

from __future__ import annotations

import logging
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

from ml.errors import NotEnoughDataError
from ml.families import Classifier, make_classifier
from ml.features import FeatureSet
from ml.models import SignalModel
from ml.splits import WalkForward
from ml.tracking import ensure_tracking_reachable

log = logging.getLogger(__name__)

_BASE_REQS = ["scikit-learn==1.9.1", "pandas==2.3.3", "numpy==2.4.6", "mlflow==3.17.2"]
PIP_REQUIREMENTS = {"logreg": _BASE_REQS, "lgbm": [*_BASE_REQS, "lightgbm==4.7.0"],
                    "mlp": [*_BASE_REQS, "torch==2.13.0"], "tcn": [*_BASE_REQS, "torch==2.13.0"]}


@dataclass(frozen=True)
class TrainConfig:
    """What to train and how to validate it."""

    family: str = "logreg"
    params: dict[str, Any] = field(default_factory=dict)
    horizon: int = 15
    test_fraction: float = 0.3
    val_fraction: float = 0.15
    purge: int = 15
    embargo: int = 30
    cv_splits: int = 3
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
    """The last ``test_fraction`` of bar times is out of sample; purge and embargo sit between."""
    times = np.sort(frame["ts"].unique())
    if len(times) < cfg.min_rows:
        raise NotEnoughDataError(f"{len(times)} bar times to train on, need at least {cfg.min_rows}")
    cut = int(len(times) * (1 - cfg.test_fraction))
    train_end = times[max(0, cut - cfg.purge - cfg.embargo)]
    return frame[frame["ts"] < train_end], frame[frame["ts"] >= times[cut]]


def _xyg(frame: pd.DataFrame, fs: FeatureSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (frame[fs.columns].to_numpy(np.float64), frame["label"].to_numpy().astype(int),
            frame["symbol"].to_numpy())


def fit_classifier(train: pd.DataFrame, fs: FeatureSet, cfg: TrainConfig) -> Classifier:
    """Fit on ``train``; its last ``val_fraction`` of times is the early-stopping validation set."""
    times = np.sort(train["ts"].unique())
    val_start = times[int(len(times) * (1 - cfg.val_fraction))]
    fit_rows, val_rows = train[train["ts"] < val_start], train[train["ts"] >= val_start]
    X, y, g = _xyg(fit_rows, fs)
    Xv, yv, gv = _xyg(val_rows, fs)
    if len(np.unique(y)) < 2:
        raise NotEnoughDataError("training labels hold a single class")
    clf = make_classifier(cfg.family, **cfg.params)
    clf.fit(X, y, Xv, yv, groups=g, groups_val=gv)
    return clf


def score(clf: Classifier, frame: pd.DataFrame, fs: FeatureSet) -> dict[str, float]:
    """Accuracy, AUC and log loss where the model has a prediction."""
    X, y, g = _xyg(frame, fs)
    p = clf.predict_proba(X, g)
    ok = np.isfinite(p)
    y, p = y[ok], np.clip(p[ok], 1e-7, 1 - 1e-7)
    if len(y) == 0:
        return {"accuracy": float("nan"), "auc": float("nan"), "log_loss": float("nan")}
    auc = roc_auc_score(y, p) if len(np.unique(y)) == 2 else float("nan")
    return {"accuracy": float(accuracy_score(y, p > 0.5)), "auc": float(auc),
            "log_loss": float(log_loss(y, p, labels=[0, 1]))}


def cross_validate(train: pd.DataFrame, fs: FeatureSet, cfg: TrainConfig) -> list[dict[str, float]]:
    """Walk-forward folds inside the training period (expanding window, purged and embargoed)."""
    wf = WalkForward(n_splits=cfg.cv_splits, purge=cfg.purge, embargo=cfg.embargo)
    folds = []
    for train_idx, test_idx in wf.split(train["ts"].to_numpy()):
        clf = fit_classifier(train.iloc[train_idx], fs, cfg)
        folds.append(score(clf, train.iloc[test_idx], fs))
    return folds


def train_and_register(frame: pd.DataFrame, fs: FeatureSet, cfg: TrainConfig, registered_name: str,
                       lineage: dict[str, object]) -> TrainResult:
    """Cross-validate, fit on the whole training period, log everything to MLflow, register.

    The tracking server is checked first, so an unreachable MLflow fails before any work and
    leaves nothing half-registered.
    """
    ensure_tracking_reachable(mlflow.get_tracking_uri())
    train, test = split_train_test(frame, cfg)
    folds = cross_validate(train, fs, cfg)
    clf = fit_classifier(train, fs, cfg)
    holdout = {f"holdout_{k}": v for k, v in score(clf, test, fs).items()}
    model = SignalModel(clf, fs, cfg.family, cfg.threshold)
    example = train[fs.columns].head(5)
    with mlflow.start_run(run_name=f"train-{cfg.family}") as run:
        mlflow.log_params({**fs.describe(), **{k: str(v) for k, v in asdict(cfg).items()}})
        mlflow.set_tags({f"lineage.{k}": str(v) for k, v in lineage.items()} | {"family": cfg.family})
        for i, fold in enumerate(folds):
            mlflow.log_metrics({f"cv_{k}": v for k, v in fold.items()}, step=i)
        mlflow.log_metrics({**holdout, "train_rows": len(train), "test_rows": len(test)})
        mlflow.log_dict(clf.preprocessing(), "preprocessing.json")
        with warnings.catch_warnings():
            # The -1/0/+1 signal column is an integer by design and never missing.
            warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
            info = mlflow.pyfunc.log_model(
                name="model", python_model=model, input_example=example,
                signature=infer_signature(example, model.predict(None, example)),
                pip_requirements=PIP_REQUIREMENTS[cfg.family], registered_model_name=registered_name,
            )
    log.info("registered %s v%s (%s)", registered_name, info.registered_model_version, cfg.family)
    metrics = {**holdout, **{f"cv_mean_{k}": float(np.nanmean([f[k] for f in folds])) for k in folds[0]}}
    return TrainResult(info.model_uri, run.info.run_id, str(info.registered_model_version),
                       pd.Timestamp(test["ts"].iloc[0]), metrics)
