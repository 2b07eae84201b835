"""The strategy_optimization asset, materialised for real on stored bars and a sqlite MLflow."""

from __future__ import annotations

import dagster as dg
from mlflow import MlflowClient

from assets.optimization import strategy_optimization
from assets.resources import MarketDataResource, MLflowResource
from ml.trials import trial_stats
from tests.ml.backtest.helpers import random_bars


def test_strategy_optimization_materializes_with_heatmap(tmp_path):
    market = MarketDataResource(source="synthetic", data_dir=str(tmp_path / "data"))
    bars = random_bars(24 * 40, seed=41)
    store = market.store()
    for day, chunk in bars.groupby(bars["ts"].dt.date):
        store.write_bars("EURUSD", day, chunk.reset_index(drop=True))
    uri = f"sqlite:///{tmp_path}/mlflow.db"

    def materialise():
        result = dg.materialize(
            [strategy_optimization],
            resources={"market": market, "mlflow_server": MLflowResource(tracking_uri=uri)},
            run_config={"ops": {"strategy_optimization": {"config": {
                "fast": [5, 10], "slow": [20, 40], "train_bars": 400, "test_bars": 200,
                "workers": 2}}}},
        )
        assert result.success
        (mat,) = result.asset_materializations_for_node("strategy_optimization")
        return mat.metadata

    meta = materialise()
    assert meta["heatmap"].value.startswith("![heatmap](data:image/png;base64,iVBOR")
    assert meta["n_candidates"].value == 4 and meta["bars"].value == len(bars)
    assert set(meta["best_params"].value) == {"fast", "slow"}
    stats = meta["stats"].value
    assert {"deflated_sharpe", "pbo", "mc_drawdown_p50"} <= set(stats)
    run_id = meta["mlflow_parent_run_id"].value
    client = MlflowClient(tracking_uri=uri)
    parent = client.get_run(run_id)
    assert parent.data.params["method"] == "grid"
    # the overfitting statistics are parent-run metrics; the heatmap is a parent-run artifact
    for key in ("deflated_sharpe", "pbo", "mc_drawdown_p50"):
        assert parent.data.metrics[key] == stats[key], key
    assert "heatmap.png" in {a.path for a in client.list_artifacts(run_id)}
    exp = client.get_experiment_by_name("strategy_optimization")
    kids = client.search_runs([exp.experiment_id], f"tags.mlflow.parentRunId = '{run_id}'")
    assert len(kids) == 4
    # every candidate is a trial of the strategy: a second search adds its 4 grid points, and
    # its pick (the same one) is deflated by 8 trials, harder than by 4
    assert meta["trial_ledger"].value == "strategy-sma_cross-EURUSD"
    assert meta["n_trials"].value == 4 and stats["n_trials"] == 4
    assert trial_stats(client, "strategy-sma_cross-EURUSD").n_trials == 4
    again = materialise()
    assert again["n_trials"].value == 8
    assert trial_stats(client, "strategy-sma_cross-EURUSD").n_trials == 8
    assert again["best_params"].value == meta["best_params"].value
    assert again["stats"].value["deflated_sharpe"] < stats["deflated_sharpe"]
