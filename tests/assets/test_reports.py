"""Every evaluated version carries a tearsheet in MLflow, and Dagster metadata shows it."""

import json
import re
import shutil
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from mlflow import MlflowClient

from assets.reports import report_metadata
from ml.report.publish import PublishedReport

NAME = "alphaforge-signal"
FIGURES = {"equity_drawdown", "trades_on_price", "monthly_returns", "rolling_sharpe", "costs",
           "feature_importance"}


def test_every_version_has_a_tearsheet_with_its_backtest(pipeline_dir, tmp_path):
    client = MlflowClient(tracking_uri=f"sqlite:///{pipeline_dir / 'mlflow.db'}")
    equity = pd.read_parquet(pipeline_dir / "lake" / "backtest_equity")
    for mv in client.search_model_versions(f"name='{NAME}'"):
        version = str(mv.version)
        logged = {a.path.removeprefix("tearsheet/") for a in client.list_artifacts(mv.run_id, "tearsheet")}
        assert {f"{f}.png" for f in FIGURES} | {"tearsheet.html", "tearsheet.json"} <= logged, version
        local = client.download_artifacts(mv.run_id, "tearsheet/tearsheet.html", str(tmp_path / version))
        page = Path(local).read_text()
        data = json.loads(re.search(r"id='tearsheet-data'>(.*?)</script>", page, re.S).group(1))
        # the page's equity curve is the one the evaluation wrote for dbt
        mine = equity[(equity["model_version"] == version) & (equity["symbol"] == "EURUSD")]
        assert data["equity"]["EURUSD"][-1] == pytest.approx(mine["equity"].iloc[-1])
        assert data["equity"]["ts"][0] == mine["ts"].iloc[0].isoformat()
        assert set(data["feature_importance"]) and max(data["feature_importance"].values()) > 0
        assert (pipeline_dir / "reports" / f"{NAME}-v{version}" / "tearsheet.html").is_file()


def test_metadata_links_the_run_and_inlines_the_figures(pipeline_dir):
    uri = f"sqlite:///{pipeline_dir / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    mv = client.get_model_version_by_alias(NAME, "challenger")
    folder = pipeline_dir / "reports" / f"{NAME}-v{mv.version}"
    files = {p.stem if p.suffix == ".png" else p.suffix.lstrip("."): p for p in folder.iterdir()}
    sheet = _sheet_from_json(folder / "tearsheet.json")
    meta = report_metadata(client, uri, PublishedReport(mv.run_id, "tearsheet", files, sheet))
    exp = client.get_run(mv.run_id).info.experiment_id
    assert meta["mlflow_run"] == dg.MetadataValue.url(f"http://127.0.0.1:5000/#/experiments/{exp}/runs/{mv.run_id}")
    assert meta["tearsheet"].value.count("](data:image/png;base64,") == 4
    assert meta["summary"].value.startswith("| | total_return | sharpe |")
    assert "| EURUSD |" in meta["costs"].value


def _sheet_from_json(path):
    """A tearsheet with the tables the metadata shows, read back from the JSON the report wrote."""
    from ml.report.data import Tearsheet
    data = json.loads(path.read_text())
    costs = pd.DataFrame(data["costs"]).T
    empty = pd.DataFrame()
    return Tearsheet(title=data["title"], equity=empty, drawdown=empty, rolling_sharpe=empty,
                     monthly_returns=empty, costs=costs, trades={}, prices={}, metrics=data["metrics"])


def test_the_evaluation_job_shows_the_tearsheet(pipeline_dir, tmp_path):
    from orchestration.evaluation import evaluate_model_version
    from tests.support.pipeline import LENIENT_GATE, resources

    data = tmp_path / "data"  # a private registry copy: the job may move @champion
    data.mkdir()
    (data / "lake").symlink_to(pipeline_dir / "lake")
    (data / "mlartifacts").symlink_to(pipeline_dir / "mlartifacts")
    shutil.copy(pipeline_dir / "mlflow.db", data / "mlflow.db")
    version = MlflowClient(tracking_uri=f"sqlite:///{data / 'mlflow.db'}").get_model_version_by_alias(
        NAME, "challenger").version
    result = evaluate_model_version.execute_in_process(
        resources=resources(data, "http://127.0.0.1:9"),
        run_config={"ops": {"evaluate_version": {"config": {"version": str(version)}},
                            "promote_version": {"config": LENIENT_GATE}}})
    assert result.success
    [mat] = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"
             and e.step_key == "evaluate_version"]
    meta = mat.event_specific_data.metadata
    assert meta["mlflow_run"].value.startswith("http://127.0.0.1:5000/#/experiments/")
    assert meta["tearsheet"].value.count("](data:image/png;base64,") == 4
    assert (data / "reports" / f"{NAME}-v{version}" / "tearsheet.html").is_file()
