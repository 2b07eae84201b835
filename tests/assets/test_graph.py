"""The whole asset graph materialises in process on the real fixture days."""

import mlflow
from mlflow import MlflowClient

from marketdata.store import ParquetStore
from tests.support.pipeline import FIXTURE_DAYS, materialize_graph


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


def test_strict_gate_leaves_the_new_version_a_challenger(tmp_path, datafeed_url):
    result = materialize_graph(tmp_path, datafeed_url,
                               gate={"min_sharpe": 1e9, "max_drawdown": 0.0, "min_trades": 10**9,
                                     "min_dsr": 1.0})
    assert result.success
    meta = result.asset_materializations_for_node("promotion")[0].metadata
    assert meta["promoted"].value is False
    assert "sharpe" in meta["gate_failures"].value
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    challenger = client.get_model_version_by_alias("alphaforge-signal", "challenger")
    assert challenger.tags["gate.passed"] == "false"
    try:
        client.get_model_version_by_alias("alphaforge-signal", "champion")
        raise AssertionError("a version that missed the gate became champion")
    except mlflow.exceptions.MlflowException:
        pass

