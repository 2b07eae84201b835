"""Tearsheets for evaluated model versions, logged to MLflow beside the version's training run."""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from mlflow import MlflowClient

from marketdata.store import MarketStore
from ml.report.data import Tearsheet, build_tearsheet
from ml.report.html import write_report
from ml.report.importance import permutation_importance

log = logging.getLogger(__name__)

ARTIFACT_DIR = "tearsheet"


@dataclass(frozen=True)
class PublishedReport:
    """Where a tearsheet went: the MLflow run and artifact folder, and the local files."""

    run_id: str
    artifact_path: str
    files: dict[str, Path]
    sheet: Tearsheet


def evaluation_tearsheet(model, store: MarketStore, results: dict, start: pd.Timestamp, end: dt.date,
                         title: str) -> Tearsheet:
    """The tearsheet of one version's out-of-sample backtests: the bars it traded and the
    model's permutation importances on the same out-of-sample features."""
    bars, importances = {}, []
    for symbol in results:
        b = store.read_bars(symbol, start.date(), end)
        bars[symbol] = b[b["ts"] >= start].reset_index(drop=True)
        feats = store.read_features(symbol, start.date(), end)
        imp = permutation_importance(model, feats[feats["ts"] >= start], symbol=symbol)
        if len(imp):
            importances.append(imp)
    pooled = (pd.concat(importances, axis=1).mean(axis=1).sort_values(ascending=False)
              if importances else None)
    return build_tearsheet(title, results, bars, pooled)


def publish_tearsheet(client: MlflowClient, run_id: str, sheet: Tearsheet, directory: Path,
                      artifact_path: str = ARTIFACT_DIR) -> PublishedReport:
    """Write the tearsheet to ``directory`` and log every file of it as an artifact of
    ``run_id`` under ``artifact_path``."""
    files = write_report(sheet, directory)
    client.log_artifacts(run_id, str(directory), artifact_path)
    log.info("tearsheet %r logged to run %s under %s", sheet.title, run_id, artifact_path)
    return PublishedReport(run_id, artifact_path, files, sheet)


def run_url(ui_base: str, experiment_id: str, run_id: str) -> str:
    """The MLflow UI page of a run (its artifacts tab lists the tearsheet)."""
    return f"{ui_base.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def publish_version_report(client: MlflowClient, registered_model: str, version: str, model,
                           store: MarketStore, results: dict, start: pd.Timestamp, end: dt.date,
                           directory: Path) -> PublishedReport | None:
    """Tearsheet of one registered version's out-of-sample backtests, logged to the run that
    trained it (None when the version has no run or there was nothing to backtest)."""
    run_id = client.get_model_version(registered_model, version).run_id
    if not run_id or not results:
        return None
    family = getattr(model, "family", "model")
    sheet = evaluation_tearsheet(model, store, results, start, end,
                                 f"{registered_model} v{version} ({family}), out of sample")
    return publish_tearsheet(client, run_id, sheet, directory)


def ui_base(tracking_uri: str) -> str:
    """Where people open MLflow: the tracking server itself, else ALPHAFORGE_MLFLOW_UI_URL, else
    ``make mlflow``'s address."""
    if tracking_uri.startswith(("http://", "https://")):
        return tracking_uri
    return os.environ.get("ALPHAFORGE_MLFLOW_UI_URL", "http://127.0.0.1:5000")
