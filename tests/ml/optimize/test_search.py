"""Walk-forward grid and Optuna searches in two worker processes, logged to MLflow."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from marketdata.instruments import get_instrument
from ml.backtest import CostModel, InvalidBarsError
from ml.optimize import OptimizationError, SearchSpec, WalkForward, optimize
from ml.optimize.report import heatmap_png
from ml.optimize.search import grid_candidates
from ml.optimize.tracking import log_search
from ml.optimize.walkforward import evaluate_candidate, walk_forward_selection
from tests.ml.backtest.helpers import random_bars

EURUSD = get_instrument("EURUSD")
COSTS = CostModel(commission_per_lot=3.5)
SPACE = {"fast": [5, 10, 20], "slow": [10, 40, 80]}


def test_walk_forward_folds_roll_without_overlap():
    folds = WalkForward(100, 50).folds(330)
    assert [(tr.start, tr.stop, te.start, te.stop) for tr, te in folds] == [
        (0, 100, 100, 150), (50, 150, 150, 200), (100, 200, 200, 250), (150, 250, 250, 300)]
    with pytest.raises(OptimizationError, match="too few"):
        WalkForward(100, 50).folds(120)


def test_candidate_scores_and_selection_use_only_their_windows():
    bars = random_bars(1200, seed=31)
    wf = WalkForward(400, 200)
    a = evaluate_candidate(bars, "sma_cross", {"fast": 5, "slow": 40}, EURUSD, COSTS, wf)
    b = evaluate_candidate(bars, "sma_cross", {"fast": 10, "slow": 80}, EURUSD, COSTS, wf)
    assert len(a.is_sharpe) == len(a.oos_sharpe) == 4 and len(a.returns) == 1200
    sel = walk_forward_selection([a, b], wf)
    for k, params in enumerate(sel["fold_params"]):
        winner = a if params == a.params else b
        loser = b if winner is a else a
        assert np.nan_to_num(winner.is_sharpe[k]) >= np.nan_to_num(loser.is_sharpe[k])
    assert len(sel["oos_returns"]) == 4 * 200
    assert grid_candidates(SearchSpec("sma_cross", SPACE)) == [
        {"fast": 5, "slow": 10}, {"fast": 5, "slow": 40}, {"fast": 5, "slow": 80},
        {"fast": 10, "slow": 40}, {"fast": 10, "slow": 80}, {"fast": 20, "slow": 40},
        {"fast": 20, "slow": 80}]


def test_grid_search_two_processes_logs_parent_and_child_runs(tmp_path):
    bars = random_bars(2400, seed=32)
    spec = SearchSpec("sma_cross", SPACE, method="grid", workers=2)
    wf = WalkForward(800, 400)
    res = optimize(bars, spec, EURUSD, COSTS, wf)
    assert len(res.candidates) == 7 and len(res.table) == 7
    assert res.best.score == max(c.score for c in res.candidates)
    # the same answer in-process: workers change nothing but speed
    serial = optimize(bars, SearchSpec("sma_cross", SPACE, workers=1), EURUSD, COSTS, wf)
    assert [c.score for c in serial.candidates] == [c.score for c in res.candidates]
    assert 0.0 <= res.stats["deflated_sharpe"] <= 1.0 and 0.0 <= res.stats["pbo"] <= 1.0
    assert res.stats["mc_drawdown_p05"] <= res.stats["mc_drawdown_p95"]
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    parent_id = log_search(res, spec, wf, uri, symbol="EURUSD")
    client = MlflowClient(tracking_uri=uri)
    parent = client.get_run(parent_id)
    assert parent.data.params["best_fast"] == str(res.best.params["fast"])
    for key in ("pbo", "deflated_sharpe", "n_trials", "mc_drawdown_p05", "mc_drawdown_p95"):
        assert parent.data.metrics[key] == pytest.approx(res.stats[key]), key
    # the heatmap and the search table are artifacts of the parent run, beside the store
    assert {a.path for a in client.list_artifacts(parent_id)} == {"heatmap.png",
                                                                "search_table.csv"}
    local = client.download_artifacts(parent_id, "heatmap.png", str(tmp_path / "dl"))
    with open(local, "rb") as fh:
        assert fh.read()[:8] == b"\x89PNG\r\n\x1a\n"
    table = pd.read_csv(client.download_artifacts(parent_id, "search_table.csv",
                                                  str(tmp_path / "dl")))
    assert len(table) == 7 and {"fast", "slow", "is_sharpe", "oos_sharpe"} <= set(table.columns)
    assert (tmp_path / "mlartifacts").is_dir()
    exp = client.get_experiment_by_name("strategy_optimization")
    children = client.search_runs([exp.experiment_id],
                                  filter_string=f"tags.mlflow.parentRunId = '{parent_id}'")
    assert len(children) == 7
    assert {(r.data.params["fast"], r.data.params["slow"]) for r in children} == {
        (str(c.params["fast"]), str(c.params["slow"])) for c in res.candidates}
    assert all("oos_sharpe" in r.data.metrics for r in children)
    png = heatmap_png(res.table, "fast", "slow")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_optuna_search_is_seeded_and_respects_the_domain():
    bars = random_bars(1500, seed=33)
    spec = SearchSpec("sma_cross", {"fast": range(2, 30, 2), "slow": range(10, 90, 10)},
                      method="optuna", n_trials=6, workers=2, seed=5)
    res = optimize(bars, spec, EURUSD, COSTS, WalkForward(600, 300))
    assert 1 <= len(res.candidates) <= 6
    assert all(c.params["fast"] < c.params["slow"] for c in res.candidates)
    assert all(c.params["fast"] % 2 == 0 and c.params["slow"] % 10 == 0 for c in res.candidates)


def test_bad_settings_fail_before_any_work():
    bars = random_bars(300, seed=34)
    with pytest.raises(OptimizationError, match="unknown strategy"):
        optimize(bars, SearchSpec("rsi", SPACE), EURUSD, COSTS, WalkForward(100, 50))
    with pytest.raises(OptimizationError, match="method"):
        optimize(bars, SearchSpec("sma_cross", SPACE, method="random"), EURUSD, COSTS,
                 WalkForward(100, 50))
    with pytest.raises(OptimizationError, match="too few"):
        optimize(bars, SearchSpec("sma_cross", SPACE), EURUSD, COSTS, WalkForward(300, 100))
    with pytest.raises(OptimizationError, match="no valid"):
        grid_candidates(SearchSpec("sma_cross", {"fast": [50], "slow": [10]}))
    unsorted = bars.iloc[[1, 0, *range(2, len(bars))]]
    with pytest.raises(InvalidBarsError, match="sorted ascending"):
        optimize(unsorted, SearchSpec("sma_cross", SPACE, workers=2), EURUSD, COSTS,
                 WalkForward(100, 50))
    with pytest.raises(InvalidBarsError, match="zero or negative"):
        optimize(bars.assign(bid_low=0.0), SearchSpec("sma_cross", SPACE, workers=2), EURUSD,
                 COSTS, WalkForward(100, 50))
