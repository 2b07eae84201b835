"""The train job's candidate selection: CPCV over families x hyperparameters x thresholds, its
PBO in MLflow, Dagster metadata and the trial ledger, on two days of synthetic 1-minute bars."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest
from mlflow import MlflowClient

from assets.models import GateConfig, model_evaluation, model_selection, promotion, training_set
from assets.resources import MarketDataResource, MLflowResource
from ml.errors import MLError
from ml.records import Evaluation, Selection
from ml.selection import candidate_grid
from ml.trials import trial_stats
from tests.ml.backtest.helpers import random_bars
from tests.support.stored_days import store_bars_by_day

DAYS = [dt.date(2024, 3, 4), dt.date(2024, 3, 5)]


@pytest.fixture
def resources(tmp_path):
    market = MarketDataResource(source="synthetic", data_dir=str(tmp_path / "data"))
    store = market.store()
    bars = random_bars(2 * 1440, seed=43, freq="1min", start=DAYS[0].isoformat(), vol=2e-4)
    store_bars_by_day(store, bars, DAYS)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    return {"market": market, "mlflow_server": MLflowResource(tracking_uri=uri)}


def _materialise(resources, selection_config):
    result = dg.materialize([training_set, model_selection], resources=resources, run_config={"ops": {
        "training_set": {"config": {"symbols": "EURUSD"}},
        "model_selection": {"config": selection_config}}})
    assert result.success
    (mat,) = result.asset_materializations_for_node("model_selection")
    return result.output_for_node("model_selection"), mat.metadata


def test_cpcv_selection_records_pbo_in_mlflow_metadata_and_the_ledger(resources):
    out, meta = _materialise(resources, {"cpcv": True, "families": ["logreg"], "thresholds": [0.52, 0.55],
                                         "pbo_splits": 4})
    assert out.cpcv is True and 0.0 <= out.pbo <= 1.0 and out.n_candidates == 4  # 2 C x 2 thresholds
    assert meta["pbo"].value == out.pbo and meta["mlflow_run_id"].value == out.run_id
    client = MlflowClient(resources["mlflow_server"].tracking_uri)
    run = client.get_run(meta["mlflow_run_id"].value)
    assert run.data.metrics["pbo"] == pytest.approx(out.pbo)
    assert run.data.params["cv"] == "cpcv" and run.data.tags["lineage.symbols"] == "EURUSD"
    # every candidate is a trial of the registered model, deflating its later versions
    assert trial_stats(client, "alphaforge-signal").n_trials == 4
    # the evaluation (and so the gate) receives the PBO
    assert model_selection.key in model_evaluation.asset_deps[model_evaluation.key]


def test_selection_is_off_by_default_and_records_nothing(resources):
    out, meta = _materialise(resources, {})
    assert out == Selection(cpcv=False) and meta["cpcv"].value is False
    client = MlflowClient(resources["mlflow_server"].tracking_uri)
    assert trial_stats(client, "alphaforge-signal").n_trials == 0


def test_the_gate_refuses_a_choice_whose_pbo_exceeds_its_threshold(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    client.create_registered_model("alphaforge-signal")
    version = client.create_model_version("alphaforge-signal", source=str(tmp_path)).version
    figures = {"sharpe": 2.0, "max_drawdown": 0.02, "n_trades": 80.0, "dsr": 0.99,
               "psr": 0.999, "n_bars": 5000.0, "min_trl": 1200.0, "lookahead_changes": 0.0}
    server = MLflowResource(tracking_uri=uri)
    refused = promotion(dg.build_asset_context(), config=GateConfig(max_pbo=0.4), mlflow_server=server,
                        model_evaluation=Evaluation(version, {**figures, "pbo": 0.45}, "logreg"))
    assert refused.metadata["promoted"] is False
    assert refused.metadata["gate_failures"].startswith("pbo 0.450 > 0.4")
    tags = client.get_model_version("alphaforge-signal", version).tags
    assert tags["gate.threshold.max_pbo"] == "0.4" and tags["oos.pbo"] == "0.45"
    passed = promotion(dg.build_asset_context(), config=GateConfig(max_pbo=0.5), mlflow_server=server,
                       model_evaluation=Evaluation(version, {**figures, "pbo": 0.45}, "logreg"))
    assert passed.metadata["promoted"] is True


def test_candidate_grid_is_families_x_hyperparameters_x_thresholds():
    grid = candidate_grid(["logreg", "lgbm"], [0.52, 0.55], horizon=30)
    assert len(grid) == 2 * 2 * 2 and {c.horizon for c in grid} == {30}
    assert {(c.family, c.params.get("C"), c.threshold) for c in grid if c.family == "logreg"} == {
        ("logreg", 0.1, 0.52), ("logreg", 0.1, 0.55), ("logreg", 1.0, 0.52), ("logreg", 1.0, 0.55)}
    with pytest.raises(MLError, match="unknown model family 'xgboost'"):
        candidate_grid(["xgboost"], [0.55], horizon=15)
    with pytest.raises(MLError, match="threshold"):
        candidate_grid(["logreg"], [], horizon=15)
    # a family without a grid of its own is one candidate per threshold, with its defaults
    assert [(c.params, c.threshold) for c in candidate_grid(["logreg"], [0.55], 15, grids={})] == [({}, 0.55)]
