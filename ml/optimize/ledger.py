"""The optimiser's searches in the trial ledger.

A parameter search is many trials, not one: every parameter set it evaluates goes into the
ledger of the strategy it tunes (``trials/strategy-<name>-<symbol>`` by default), and the
deflated Sharpe it reports for its pick is deflated by the ledger's cumulative count and the
variance of every trial's Sharpe, so re-running a search until something looks good is paid for.
"""

from __future__ import annotations

import logging
import math

from mlflow import MlflowClient

from ml.optimize.overfitting import deflated_sharpe_ratio
from ml.optimize.search import SearchResult, SearchSpec
from ml.trials import per_bar_sharpe, record_trial, trial_stats

log = logging.getLogger(__name__)


def strategy_ledger_name(strategy: str, symbol: str) -> str:
    """The ledger a search of ``strategy`` on ``symbol`` counts in, unless told another."""
    return f"strategy-{strategy}-{symbol}" if symbol else f"strategy-{strategy}"


def count_search(client: MlflowClient, name: str, result: SearchResult, spec: SearchSpec,
                 symbol: str = "") -> dict[str, float]:
    """Record every candidate of ``result`` in ledger ``name``, then redo the pick's deflated
    Sharpe over the ledger's total; returns (and updates) ``result.stats``.

    ``n_trials`` and ``deflated_sharpe`` become the cumulative figures; this search alone is
    kept as ``n_trials_search`` and ``deflated_sharpe_search``.
    """
    for cand in result.candidates:
        choices = {"kind": "optimisation", "strategy": spec.strategy, "method": spec.method,
                   "symbol": symbol, **{f"param.{k}": v for k, v in cand.params.items()}}
        record_trial(client, name, choices, per_bar_sharpe(cand.returns))
    ledger = trial_stats(client, name)
    variance = ledger.sr_variance if math.isfinite(ledger.sr_variance) else None
    stats = result.stats
    stats["n_trials_search"] = float(len(result.candidates))
    stats["deflated_sharpe_search"] = stats.get("deflated_sharpe", math.nan)
    stats["n_trials"] = float(ledger.n_trials)
    stats["deflated_sharpe"] = deflated_sharpe_ratio(result.best.returns, max(ledger.n_trials, 1),
                                                     sr_variance=variance)
    log.info("search of %s counted in ledger %s: %d trials in all, deflated Sharpe %.3f",
             spec.strategy, name, ledger.n_trials, stats["deflated_sharpe"])
    return stats
