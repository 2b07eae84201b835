"""The one promotion path: judge a registered version out of sample, then move @champion only
when the gate holds.

The train job's ``promotion`` asset and the evaluate-one-version job (which the model-version
sensor starts and ``alphaforge promote`` runs) both end in :func:`promote_version`; a version
registered outside the train job gets its out-of-sample window from :func:`lineage_window`,
which refuses any window that overlaps the version's training. Every evaluated candidate goes
into the model's trial ledger (:func:`deflate_by_ledger`) before the gate judges it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd
from mlflow import MlflowClient

from marketdata.store import MarketStore
from ml.backtest import BacktestResult
from ml.errors import NotEnoughDataError
from ml.evaluation import pooled_metrics
from ml.gate_figures import portfolio_returns
from ml.oos_window import check_oos_start, version_window
from ml.registry import PromotionGate, promote
from ml.trials import per_bar_sharpe, record_trial, trial_stats


@dataclass(frozen=True)
class OosWindow:
    """The out-of-sample window a version is judged on: symbols, first bar, last day."""

    symbols: list[str]
    start: pd.Timestamp
    end: dt.date


@dataclass(frozen=True)
class PromotionDecision:
    """What the gate said about one version, and whether it became @champion (or, with a
    paper period, @paper: it held the gate and trades on paper first)."""

    version: str
    promoted: bool
    failures: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    paper: bool = False

    @property
    def gate_failures(self) -> str:
        """The failures on one line, or 'none'."""
        return "; ".join(self.failures) or "none"


def numeric_metrics(metrics: Mapping[str, object]) -> dict[str, float]:
    """The numeric figures of ``metrics`` (labels such as the family are left out)."""
    return {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}


def promote_version(client: MlflowClient, name: str, version: str, metrics: Mapping[str, object],
                    gate: PromotionGate) -> PromotionDecision:
    """Record the gate's figures on ``version``; move @champion to it only when the gate holds."""
    numeric = numeric_metrics(metrics)
    promoted = promote(client, name, str(version), numeric, gate)
    failures = gate.failures(numeric)
    return PromotionDecision(str(version), promoted, failures, numeric, paper=not failures and not promoted)


def lineage_window(client: MlflowClient, name: str, version: str, store: MarketStore,
                   default_symbols: list[str], oos_start: str = "") -> OosWindow:
    """The window to judge ``version`` on: never one that overlaps its training.

    Symbols: the run's ``lineage.symbols`` (else ``default_symbols``); start: ``oos_start``, else
    the version's own test start (its ``window.test_start`` tag); end: ``lineage.end``, else the
    last stored day. Raises :class:`LeakageError` when the version carries no training window or
    ``oos_start`` lies before its test start (inside training, its purge or its embargo), and
    :class:`NotEnoughDataError` when no bars are stored for the symbols.
    """
    trained = version_window(client, name, version)
    mv = client.get_model_version(name, version)
    tags = client.get_run(mv.run_id).data.tags if mv.run_id else {}
    symbols = [s for s in tags.get("lineage.symbols", "").split(",") if s] or default_symbols
    days = sorted({d for s in symbols for d in store.days("bars", s)})
    if not days:
        raise NotEnoughDataError(f"no bars stored for {symbols}: nothing to evaluate version {version} on")
    end = pd.Timestamp(tags.get("lineage.end") or days[-1])
    start = check_oos_start(trained, pd.Timestamp(oos_start) if oos_start else trained.test_start,
                            f"{name} v{version}")
    return OosWindow(symbols, start, end.date())


@dataclass
class Candidate:
    """One evaluated candidate: its choices (for the trial ledger), figures and backtests."""

    choices: dict[str, object]
    metrics: dict[str, float]
    results: dict[str, BacktestResult]


def deflate_by_ledger(client: MlflowClient, name: str, candidates: list[Candidate]) -> list[dict[str, float]]:
    """Record every candidate in the trial ledger, then recompute each one's figures deflated by
    the ledger's total (all candidates ever evaluated for ``name``) and its Sharpe variance."""
    for c in candidates:
        returns = portfolio_returns([r.equity for r in c.results.values()])
        record_trial(client, name, c.choices, per_bar_sharpe(returns.to_numpy()))
    stats = trial_stats(client, name)
    sr_variance = stats.sr_variance if math.isfinite(stats.sr_variance) else None
    return [{**c.metrics, **pooled_metrics(c.results, stats.n_trials, sr_variance)} for c in candidates]


