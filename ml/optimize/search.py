"""Grid and Optuna searches over strategy parameters, evaluated walk-forward in worker processes.

Each candidate runs in a ``ProcessPoolExecutor`` (spawned workers, so no threads are forked from
a Dagster or MLflow process); the bars are shipped to each worker once. The objective is the mean
in-sample Sharpe over the walk-forward folds; out-of-sample numbers are only reported. The
selected strategy (best objective) then gets the overfitting statistics.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd

from marketdata.instruments import Instrument
from ml.backtest import CostModel
from ml.backtest.bars import load_bars
from ml.optimize.overfitting import (
    deflated_sharpe_ratio,
    monte_carlo_drawdowns,
    probability_of_backtest_overfitting,
)
from ml.optimize.walkforward import (
    STRATEGIES,
    CandidateResult,
    OptimizationError,
    WalkForward,
    evaluate_candidate,
    walk_forward_selection,
)
from ml.policy import TradingPolicy

log = logging.getLogger(__name__)

_CTX: dict[str, Any] = {}


def _init_worker(context: dict[str, Any]) -> None:
    _CTX.clear()
    _CTX.update(context)


def _evaluate(params: dict[str, Any]) -> CandidateResult:
    c = _CTX
    return evaluate_candidate(c["bars"], c["strategy"], params, c["instrument"], c["costs"],
                              c["wf"], c["backtest_kwargs"], c["policy"])


@dataclass
class SearchSpec:
    """What to search: a strategy name from ``STRATEGIES``, its parameter space, and how."""

    strategy: str
    space: dict[str, Sequence[Any]]
    method: str = "grid"  # or "optuna"
    n_trials: int = 20  # optuna only
    seed: int = 0
    workers: int = 2


@dataclass
class SearchResult:
    """Every candidate, the selected one, the walk-forward selection and overfitting stats."""

    candidates: list[CandidateResult]
    best: CandidateResult
    walk_forward: dict[str, Any]
    stats: dict[str, float]
    table: pd.DataFrame = field(default_factory=pd.DataFrame)


def grid_candidates(spec: SearchSpec) -> list[dict[str, Any]]:
    """Every valid combination of the space's values, in a stable order."""
    names = list(spec.space)
    _fn, valid = STRATEGIES[spec.strategy]
    combos = [dict(zip(names, values, strict=True))
              for values in itertools.product(*(spec.space[n] for n in names))]
    out = [c for c in combos if valid(c)]
    if not out:
        raise OptimizationError("the parameter grid has no valid combination")
    return out


def _suggest(trial: optuna.Trial, name: str, values: Sequence[Any]) -> Any:
    vals = list(values)
    if isinstance(values, range) and len(vals) > 1:
        return trial.suggest_int(name, values.start, vals[-1], step=values.step)
    return trial.suggest_categorical(name, vals)


def _run_optuna(spec: SearchSpec, pool_map) -> list[CandidateResult]:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=spec.seed))
    _fn, valid = STRATEGIES[spec.strategy]
    results: list[CandidateResult] = []
    asked = 0
    while asked < spec.n_trials:
        batch: list[tuple[optuna.Trial, dict[str, Any]]] = []
        while len(batch) < max(spec.workers, 1) and asked < spec.n_trials:
            trial = study.ask()
            asked += 1
            params = {n: _suggest(trial, n, v) for n, v in spec.space.items()}
            if valid(params):
                batch.append((trial, params))
            else:  # outside the strategy's domain (e.g. fast >= slow): not a candidate
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        for (trial, _), res in zip(batch, pool_map([p for _, p in batch]), strict=True):
            study.tell(trial, res.score)
            results.append(res)
    if not results:
        raise OptimizationError("optuna proposed no valid parameter set")
    return results


def _run_grid(spec: SearchSpec, pool_map) -> list[CandidateResult]:
    return pool_map(grid_candidates(spec))


def _pbo_splits(n_rows: int, wanted: int) -> int:
    splits = min(wanted, n_rows // 2)
    return splits - splits % 2


def overfitting_stats(candidates: list[CandidateResult], best: CandidateResult, cash: float,
                      pbo_splits: int = 10, mc_runs: int = 1000, seed: int = 0) -> dict[str, float]:
    """Deflated Sharpe, PBO and Monte Carlo drawdown quantiles for the selected candidate."""
    matrix = np.column_stack([c.returns for c in candidates])
    sharpes = matrix.mean(axis=0) / np.where(matrix.std(axis=0, ddof=1) > 0,
                                             matrix.std(axis=0, ddof=1), np.inf)
    stats = {
        "n_trials": float(len(candidates)),
        "deflated_sharpe": deflated_sharpe_ratio(best.returns, len(candidates),
                                                 sr_variance=float(np.var(sharpes, ddof=1))
                                                 if len(candidates) > 1 else None),
    }
    splits = _pbo_splits(matrix.shape[0], pbo_splits)
    stats["pbo"] = (probability_of_backtest_overfitting(matrix, n_splits=splits)
                    if len(candidates) > 1 and splits >= 2 else float("nan"))
    if best.trade_pnls.size:
        dd = monte_carlo_drawdowns(best.trade_pnls, n=mc_runs, seed=seed, initial_equity=cash)
        stats.update({"mc_drawdown_p05": float(np.quantile(dd, 0.05)),
                      "mc_drawdown_p50": float(np.quantile(dd, 0.5)),
                      "mc_drawdown_p95": float(np.quantile(dd, 0.95))})
    return stats


def optimize(bars: pd.DataFrame, spec: SearchSpec, instrument: Instrument, costs: CostModel,
             wf: WalkForward, backtest_kwargs: dict[str, Any] | None = None,
             policy: TradingPolicy | None = None) -> SearchResult:
    """Run the search; see the module docstring for what is optimised and what is reported.
    Every candidate's signal trades through ``policy`` (the default :class:`TradingPolicy`),
    as the evaluation backtest and the live auto-trader do."""
    if spec.strategy not in STRATEGIES:
        raise OptimizationError(f"unknown strategy {spec.strategy!r}; known: {sorted(STRATEGIES)}")
    if spec.method not in ("grid", "optuna"):
        raise OptimizationError(f"method must be 'grid' or 'optuna', got {spec.method!r}")
    load_bars(bars)  # bad bars fail here, before any process starts or any candidate runs
    wf.folds(len(bars))
    bt_kwargs = {"cash": 100_000.0, **(backtest_kwargs or {})}
    context = {"bars": bars, "strategy": spec.strategy, "instrument": instrument,
               "costs": costs, "wf": wf, "backtest_kwargs": bt_kwargs,
               "policy": policy or TradingPolicy()}
    if spec.workers > 1:
        executor = ProcessPoolExecutor(max_workers=spec.workers, initializer=_init_worker,
                                       initargs=(context,),
                                       mp_context=multiprocessing.get_context("spawn"))
    else:
        executor = None
        _init_worker(context)

    def pool_map(params_list):
        if executor is None:
            return [_evaluate(p) for p in params_list]
        return list(executor.map(_evaluate, params_list))

    try:
        search = _run_optuna if spec.method == "optuna" else _run_grid
        candidates = search(spec, pool_map)
    finally:
        if executor is not None:
            executor.shutdown()
    best = max(candidates, key=lambda c: c.score)
    selection = walk_forward_selection(candidates, wf)
    stats = overfitting_stats(candidates, best, bt_kwargs["cash"], seed=spec.seed)
    table = pd.DataFrame([{**c.params, "is_sharpe": c.score, "oos_sharpe": c.oos_score,
                           **{f"full_{k}": v for k, v in c.metrics.items()}} for c in candidates])
    log.info("%s search of %s: %d candidates, best %s", spec.method, spec.strategy,
             len(candidates), best.params)
    return SearchResult(candidates=candidates, best=best, walk_forward=selection, stats=stats,
                        table=table)
