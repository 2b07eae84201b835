"""The whole asset graph materialises in process on the real fixture days."""

import shutil

import dagster as dg
import pandas as pd
from mlflow import MlflowClient

from assets.models import GateConfig, model_families, promotion
from assets.resources import MLflowResource
from marketdata.store import ParquetStore
from ml.records import Evaluation
from tests.support.pipeline import FIXTURE_DAYS


def test_graph_materialises_from_the_datafeed(pipeline_dir):
    store = ParquetStore(pipeline_dir / "lake")
    assert store.days("ticks", "EURUSD") == FIXTURE_DAYS
    ticks = store.read_ticks("EURUSD", FIXTURE_DAYS[0], FIXTURE_DAYS[0])
    assert len(ticks) == 136_741  # every tick of 2019-02-04 in the fixture files
    bars = store.read_bars("EURUSD", *FIXTURE_DAYS)
    assert len(bars) == 2 * 1440
    client = MlflowClient(tracking_uri=f"sqlite:///{pipeline_dir / 'mlflow.db'}")
    champion = client.get_model_version_by_alias("alphaforge-signal", "champion")
    assert champion.tags["gate.passed"] == "true"
    assert "oos.sharpe" in champion.tags
    # The evaluation left each candidate's trades and equity marks for the analytics models.
    trades = pd.read_parquet(pipeline_dir / "lake" / "backtest_trades")
    equity = pd.read_parquet(pipeline_dir / "lake" / "backtest_equity")
    strategies = {f"alphaforge-signal-{f}" for f in model_families()}
    assert set(equity["strategy"]) == strategies and set(trades["strategy"]) <= strategies
    assert {"entry_time", "exit_time", "lots", "pnl", "model_version"} <= set(trades.columns)
    assert equity["ts"].min() >= pd.Timestamp("2019-02-05", tz="UTC")  # out of sample only


def test_strict_gate_leaves_the_challenger_out(pipeline_dir, tmp_path):
    # The promotion asset itself, on a copy of the pipeline's registry, with a strict gate.
    shutil.copy(pipeline_dir / "mlflow.db", tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    challenger = client.get_model_version_by_alias("alphaforge-signal", "challenger").version
    champion_before = client.get_model_version_by_alias("alphaforge-signal", "champion").version
    evaluation = Evaluation(str(challenger), family="logreg",
                            metrics={"sharpe": 0.2, "max_drawdown": 0.3, "n_trades": 4.0, "dsr": 0.5})
    result = promotion(dg.build_asset_context(), config=GateConfig(), model_evaluation=evaluation,
                       mlflow_server=MLflowResource(tracking_uri=uri))
    assert result.metadata["promoted"] is False
    assert "sharpe 0.200 < 1.0" in result.metadata["gate_failures"]
    assert "deflated sharpe" in result.metadata["gate_failures"]
    assert client.get_model_version_by_alias("alphaforge-signal", "champion").version == champion_before
    tags = client.get_model_version("alphaforge-signal", challenger).tags
    assert tags["gate.passed"] == "false"
    assert tags["gate.threshold.min_sharpe"] == "1" and tags["gate.threshold.min_dsr"] == "0.95"
    assert tags["oos.annualisation"].startswith("trading time")


def test_every_family_was_trained_and_evaluated(pipeline_dir):
    client = MlflowClient(tracking_uri=f"sqlite:///{pipeline_dir / 'mlflow.db'}")
    versions = client.search_model_versions("name='alphaforge-signal'")
    families = {client.get_run(v.run_id).data.tags["family"] for v in versions}
    assert families == set(model_families())
    # every evaluated candidate is in the trial ledger, and the gate deflated by its total
    from ml.trials import trial_stats

    assert trial_stats(client, "alphaforge-signal").n_trials >= len(model_families())
    champion = client.get_model_version_by_alias("alphaforge-signal", "champion")
    assert float(champion.tags["oos.n_trials"]) >= len(model_families())
    assert {"window.train_start", "window.test_start", "window.purge", "window.embargo"} <= set(champion.tags)
    # Artifacts live beside the store, not in whatever folder the process runs in.
    for v in versions:
        model_id = v.model_id or v.source.removeprefix("models:/")
        location = client.get_logged_model(model_id).artifact_location
        assert location.startswith((pipeline_dir / "mlartifacts").as_uri()), location
