"""The trial ledger: every candidate ever evaluated for a registered model, kept in MLflow.

Each evaluated candidate (a family, a threshold, a horizon, a retrain, a re-evaluation on
another window) is one run in the experiment ``trials/<registered model>``, with its choices as
parameters and its per-bar Sharpe ratio as a metric. The gate deflates a candidate's Sharpe by
the ledger's total, not by the handful of candidates of the current run: over many retrains the
best of each batch is otherwise a fresh lucky draw judged as if it were the first.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from mlflow import MlflowClient
from mlflow.entities import Metric, Param

LEDGER_PREFIX = "trials/"


@dataclass(frozen=True)
class TrialStats:
    """How many candidates the ledger holds, and the variance of their per-bar Sharpe ratios."""

    n_trials: int
    sr_variance: float


def ledger_experiment(client: MlflowClient, name: str) -> str:
    """The ledger experiment's id for registered model ``name`` (created on first use)."""
    exp_name = LEDGER_PREFIX + name
    exp = client.get_experiment_by_name(exp_name)
    if exp is not None:
        return exp.experiment_id
    return client.create_experiment(exp_name)


def record_trial(client: MlflowClient, name: str, choices: Mapping[str, object], sr: float) -> None:
    """Add one evaluated candidate: its ``choices`` (family, horizon, threshold, version, window,
    kind) and its per-bar Sharpe ratio ``sr`` (NaN when it had no returns)."""
    run = client.create_run(ledger_experiment(client, name),
                            tags={"trial.kind": str(choices.get("kind", "candidate"))})
    run_id = run.info.run_id
    # one batch per trial: an optimiser's grid adds dozens of trials at once
    params = [Param(str(key), str(value)[:500]) for key, value in choices.items()]
    metrics = [Metric("sr", float(sr), int(time.time() * 1000), 0)] if math.isfinite(sr) else []
    client.log_batch(run_id, metrics=metrics, params=params)
    client.set_terminated(run_id)


def trial_stats(client: MlflowClient, name: str) -> TrialStats:
    """The ledger's total count and the variance of its per-bar Sharpes (NaN under two)."""
    exp = client.get_experiment_by_name(LEDGER_PREFIX + name)
    if exp is None:
        return TrialStats(0, math.nan)
    count, srs, token = 0, [], None
    while True:
        page = client.search_runs([exp.experiment_id], max_results=1000, page_token=token)
        count += len(page)
        srs += [r.data.metrics["sr"] for r in page if "sr" in r.data.metrics]
        token = page.token
        if not token:
            break
    var = float(np.var(srs, ddof=1)) if len(srs) >= 2 else math.nan
    return TrialStats(count, var)


def per_bar_sharpe(returns: np.ndarray) -> float:
    """mean / std of per-bar returns (not annualised); NaN without spread."""
    r = np.asarray(returns, dtype=float)
    r = r[np.isfinite(r)]
    if r.size < 2 or not r.std(ddof=1) > 0:
        return math.nan
    return float(r.mean() / r.std(ddof=1))
