"""Log a search to MLflow: one parent run for the search, one child run per trial.

The parent run holds the search settings, the selected parameters, the overfitting statistics
(deflated Sharpe, PBO, Monte Carlo drawdown quantiles) as metrics, and the heatmap PNG and the
full search table as artifacts.
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunStatus

from ml.optimize.report import heatmap_png
from ml.optimize.search import SearchResult, SearchSpec
from ml.optimize.walkforward import WalkForward
from ml.tracking import default_artifact_root

HEATMAP_ARTIFACT = "heatmap.png"
TABLE_ARTIFACT = "search_table.csv"


def _metrics(values: dict[str, float], prefix: str = "") -> list[Metric]:
    now = int(time.time() * 1000)
    # MLflow stores NaN but not infinities reliably; both mean "undefined" here, so skip them
    return [Metric(prefix + k, float(v), now, 0) for k, v in values.items()
            if isinstance(v, int | float) and math.isfinite(v)]


def _params(values: dict[str, Any]) -> list[Param]:
    return [Param(k, str(v)[:500]) for k, v in values.items()]


def _log_artifacts(client: MlflowClient, run_id: str, result: SearchResult, spec: SearchSpec,
                   heatmap: bytes | None) -> None:
    names = list(spec.space)
    if heatmap is None and len(names) >= 2 and len(result.table):
        heatmap = heatmap_png(result.table, names[0], names[1])
    with tempfile.TemporaryDirectory() as tmp:
        if heatmap is not None:
            (Path(tmp) / HEATMAP_ARTIFACT).write_bytes(heatmap)
            client.log_artifact(run_id, str(Path(tmp) / HEATMAP_ARTIFACT))
        result.table.to_csv(Path(tmp) / TABLE_ARTIFACT, index=False)
        client.log_artifact(run_id, str(Path(tmp) / TABLE_ARTIFACT))


def log_search(result: SearchResult, spec: SearchSpec, wf: WalkForward, tracking_uri: str,
               experiment: str = "strategy_optimization", symbol: str = "",
               heatmap: bytes | None = None) -> str:
    """Write the search to ``tracking_uri``; returns the parent run id.

    ``heatmap`` is the PNG to attach to the parent run; by default it is drawn from the search
    table over the space's first two parameters (none for a one-parameter space).
    """
    client = MlflowClient(tracking_uri=tracking_uri)
    found = client.get_experiment_by_name(experiment)
    exp_id = found.experiment_id if found else client.create_experiment(
        experiment, artifact_location=default_artifact_root(tracking_uri))
    parent = client.create_run(exp_id, run_name=f"{spec.strategy}-{spec.method}",
                               tags={"symbol": symbol, "strategy": spec.strategy})
    pid = parent.info.run_id
    client.log_batch(pid, params=_params({
        "strategy": spec.strategy, "method": spec.method, "space": dict(spec.space),
        "train_bars": wf.train_bars, "test_bars": wf.test_bars, "workers": spec.workers,
        "seed": spec.seed, **{f"best_{k}": v for k, v in result.best.params.items()},
    }), metrics=_metrics({**result.stats, "best_is_sharpe": result.best.score,
                          "best_oos_sharpe": result.best.oos_score}))
    for i, cand in enumerate(result.candidates):
        child = client.create_run(exp_id, run_name=f"trial-{i}",
                                  tags={"mlflow.parentRunId": pid, "trial": str(i)})
        client.log_batch(child.info.run_id, params=_params(cand.params),
                         metrics=_metrics({"is_sharpe": cand.score, "oos_sharpe": cand.oos_score,
                                           **cand.metrics}))
        client.set_terminated(child.info.run_id, RunStatus.to_string(RunStatus.FINISHED))
    _log_artifacts(client, pid, result, spec, heatmap)
    client.set_terminated(pid, RunStatus.to_string(RunStatus.FINISHED))
    return pid
