"""The optimiser's searches count in the strategy's trial ledger, and deflate by its total."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from marketdata.instruments import get_instrument
from ml.backtest import CostModel
from ml.optimize import SearchSpec, WalkForward, optimize
from ml.optimize.ledger import count_search, strategy_ledger_name
from ml.optimize.search import grid_candidates
from ml.trials import trial_stats
from tests.ml.backtest.helpers import random_bars

EURUSD = get_instrument("EURUSD")
COSTS = CostModel(commission_per_lot=3.5)
SPACE = {"fast": [5, 10, 20], "slow": [10, 40, 80]}


def test_successive_searches_add_every_grid_point_and_deflate_harder(tmp_path):
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    bars, wf = random_bars(1200, seed=35), WalkForward(400, 200)
    spec = SearchSpec("sma_cross", SPACE, workers=1)
    grid = len(grid_candidates(spec))
    name = strategy_ledger_name("sma_cross", "EURUSD")
    assert name == "strategy-sma_cross-EURUSD"

    dsr = []
    for k in (1, 2, 3):  # the same search re-run: each run is `grid` more trials
        res = optimize(bars, spec, EURUSD, COSTS, wf)
        stats = count_search(client, name, res, spec, "EURUSD")
        assert trial_stats(client, name).n_trials == k * grid
        assert stats["n_trials"] == k * grid and stats["n_trials_search"] == grid
        if k == 1:  # the ledger is this search alone: the same deflation as the search's own
            assert stats["deflated_sharpe"] == pytest.approx(stats["deflated_sharpe_search"], rel=1e-6)
        dsr.append(stats["deflated_sharpe"])
    assert 0.0 < dsr[2] < dsr[1] < dsr[0] < 1.0, dsr

    # another strategy's (or symbol's) ledger is untouched by these searches
    assert trial_stats(client, strategy_ledger_name("sma_cross", "GBPJPY")).n_trials == 0
    runs = client.search_runs([client.get_experiment_by_name("trials/" + name).experiment_id],
                              max_results=100)
    assert {(r.data.params["param.fast"], r.data.params["param.slow"]) for r in runs} == {
        (str(c["fast"]), str(c["slow"])) for c in grid_candidates(spec)}
    assert {r.data.tags["trial.kind"] for r in runs} == {"optimisation"}
