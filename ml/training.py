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

from ml.errors import MLError, NotEnoughDataError
from ml.families import Classifier, get_family, make_classifier
from ml.features import FeatureSet
from ml.models import SignalModel
from ml.oos_window import TrainingWindow
from ml.splits import (
    CombinatorialPurged,
    WalkForward,
    assert_purged,
    check_purge,
    effective_label_end,
    purged_train_rows,
)
from ml.tracking import ensure_tracking_reachable

log = logging.getLogger(__name__)

BASE_REQUIREMENTS = ("scikit-learn==1.9.1", "pandas==2.3.3", "numpy==2.4.6", "mlflow==3.17.2")


def pip_requirements(family: str) -> list[str]:
    """What a logged model of ``family`` needs installed: the base pins and the family's own."""
    return [*BASE_REQUIREMENTS, *get_family(family).requirements]


@dataclass(frozen=True)
class TrainConfig:
    """What to train and how to validate it.

    ``purge`` defaults to the label ``horizon`` and may not be below it (a :class:`LeakageError`
    otherwise); ``embargo`` bar times more separate training from every test and validation
    period. ``sample_weight`` "uniqueness" weighs rows by label uniqueness; "none" weighs all 1.
    ``cv`` is "walk_forward" or "cpcv" (combinatorial purged CV).
    """

    family: str = "logreg"
    params: dict[str, Any] = field(default_factory=dict)
    horizon: int = 15
    test_fraction: float = 0.3
    val_fraction: float = 0.15
    purge: int | None = None
    embargo: int = 30
    cv_splits: int = 3
    threshold: float = 0.55
    min_rows: int = 200
    sample_weight: str = "none"
    cv: str = "walk_forward"

    def __post_init__(self) -> None:
        check_purge(self.purge_bars, self.embargo, self.horizon)
        if self.sample_weight not in {"none", "uniqueness"}:
            raise MLError(f"sample_weight {self.sample_weight!r}: use 'none' or 'uniqueness'")
        if self.cv not in {"walk_forward", "cpcv"}:
            raise MLError(f"cv {self.cv!r}: use 'walk_forward' or 'cpcv'")

    @property
    def purge_bars(self) -> int:
        """The purge in bars: ``purge``, or the horizon when unset."""
        return self.horizon if self.purge is None else self.purge


@dataclass
class TrainResult:
    """A trained, logged and registered model version."""

    model_uri: str
    run_id: str
    version: str
    test_start: pd.Timestamp
    metrics: dict[str, float] = field(default_factory=dict)


def _label_end(frame: pd.DataFrame, cfg: TrainConfig) -> np.ndarray:
    """Every row's purge end: its label end (when the frame has one), floored per symbol."""
    label_end = frame["label_end"].to_numpy() if "label_end" in frame else None
    groups = frame["symbol"].to_numpy() if "symbol" in frame else None
    return effective_label_end(frame["ts"].to_numpy(), cfg.purge_bars, label_end, groups)


def purged_cut(frame: pd.DataFrame, cfg: TrainConfig, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Row masks: the last ``fraction`` of bar times, and the rows before it whose labels end
    before its first time minus the embargo."""
    ts = frame["ts"].to_numpy()
    times = np.unique(ts)
    cut = int(len(times) * (1 - fraction))
    end = _label_end(frame, cfg)
    before = purged_train_rows(ts, end, times[max(0, cut - cfg.embargo)])
    after = ts >= times[min(cut, len(times) - 1)]
    assert_purged(ts, end, np.flatnonzero(before), np.flatnonzero(after))
    return before, after


def split_train_test(frame: pd.DataFrame, cfg: TrainConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The last ``test_fraction`` of bar times is out of sample; training rows are purged by
    label end and embargoed before it."""
    times = np.unique(frame["ts"].to_numpy())
    if len(times) < cfg.min_rows:
        raise NotEnoughDataError(f"{len(times)} bar times to train on, need at least {cfg.min_rows}")
    before, after = purged_cut(frame, cfg, cfg.test_fraction)
    return frame[before], frame[after]


def _xyg(frame: pd.DataFrame, fs: FeatureSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels (float; NaN = no target) and symbols."""
    return (frame[fs.columns].to_numpy(np.float64), frame["label"].to_numpy(np.float64),
            frame["symbol"].to_numpy())


def fit_classifier(train: pd.DataFrame, fs: FeatureSet, cfg: TrainConfig) -> Classifier:
    """Fit on ``train``; its last ``val_fraction`` of times is the early-stopping validation set,
    purged and embargoed like every test period."""
    fit_mask, val_mask = purged_cut(train, cfg, cfg.val_fraction)
    fit_rows, val_rows = train[fit_mask], train[val_mask]
    X, y, g = _xyg(fit_rows, fs)
    Xv, yv, gv = _xyg(val_rows, fs)
    if len(np.unique(y[np.isfinite(y)])) < 2:
        raise NotEnoughDataError("training labels hold a single class")
    weight = None
    if cfg.sample_weight == "uniqueness" and "weight" in fit_rows:
        weight = fit_rows["weight"].to_numpy(np.float64)
    clf = make_classifier(cfg.family, **cfg.params)
    clf.fit(X, y, Xv, yv, groups=g, groups_val=gv, sample_weight=weight)
    return clf


def score(clf: Classifier, frame: pd.DataFrame, fs: FeatureSet) -> dict[str, float]:
    """Accuracy, AUC and log loss on the labelled rows where the model has a prediction."""
    X, y, g = _xyg(frame, fs)
    p = clf.predict_proba(X, g)
    ok = np.isfinite(p) & np.isfinite(y)
    y, p = y[ok].astype(int), np.clip(p[ok], 1e-7, 1 - 1e-7)
    if len(y) == 0:
        return {"accuracy": float("nan"), "auc": float("nan"), "log_loss": float("nan")}
    auc = roc_auc_score(y, p) if len(np.unique(y)) == 2 else float("nan")
    return {"accuracy": float(accuracy_score(y, p > 0.5)), "auc": float(auc),
            "log_loss": float(log_loss(y, p, labels=[0, 1]))}


def splitter(cfg: TrainConfig) -> WalkForward | CombinatorialPurged:
    """The cross-validation splitter ``cfg`` asks for, purged and embargoed."""
    if cfg.cv == "cpcv":
        return CombinatorialPurged(n_groups=max(cfg.cv_splits + 1, 3),
                                   n_test_groups=2 if cfg.cv_splits > 2 else 1,
                                   purge=cfg.purge_bars, embargo=cfg.embargo, horizon=cfg.horizon)
    return WalkForward(n_splits=cfg.cv_splits, purge=cfg.purge_bars, embargo=cfg.embargo, horizon=cfg.horizon)


def cross_validate(train: pd.DataFrame, fs: FeatureSet, cfg: TrainConfig) -> list[dict[str, float]]:
    """Folds inside the training period (walk-forward or CPCV), purged by label end per symbol."""
    label_end = train["label_end"].to_numpy() if "label_end" in train else None
    folds = []
    splits = splitter(cfg).split(train["ts"].to_numpy(), label_end, train["symbol"].to_numpy())
    for train_idx, test_idx in splits:
        clf = fit_classifier(train.iloc[train_idx], fs, cfg)
        folds.append(score(clf, train.iloc[test_idx], fs))
    return folds


def training_window(train: pd.DataFrame, test: pd.DataFrame, cfg: TrainConfig) -> TrainingWindow:
    """The window a model trained on ``train`` and tested on ``test`` must be judged outside of."""
    label_end = train["label_end"].dropna().max() if "label_end" in train else train["ts"].max()
    return TrainingWindow(
        train_start=pd.Timestamp(train["ts"].min()), train_end=pd.Timestamp(train["ts"].max()),
        label_end=pd.Timestamp(label_end), horizon=cfg.horizon, purge=cfg.purge_bars, embargo=cfg.embargo,
        test_start=pd.Timestamp(test["ts"].min()), test_end=pd.Timestamp(test["ts"].max()))


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
        mlflow.set_tags({f"lineage.{k}": str(v) for k, v in lineage.items()} | {"family": cfg.family}
                        | {"lineage.test_start": pd.Timestamp(test["ts"].iloc[0]).isoformat()})
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
                pip_requirements=pip_requirements(cfg.family), registered_model_name=registered_name,
            )
    window = training_window(train, test, cfg)
    client = mlflow.MlflowClient()
    for key, value in window.tags().items():
        client.set_model_version_tag(registered_name, str(info.registered_model_version), key, value)
    log.info("registered %s v%s (%s)", registered_name, info.registered_model_version, cfg.family)
    metrics = {**holdout, **{f"cv_mean_{k}": float(np.nanmean([f[k] for f in folds])) for k in folds[0]}}
    return TrainResult(info.model_uri, run.info.run_id, str(info.registered_model_version),
                       pd.Timestamp(test["ts"].iloc[0]), metrics)
