"""Training on bars built from the real fixtures; registration and the alias flow on two MLflow
backends (a sqlite store, and an `mlflow server` on PostgreSQL); the bad-input paths."""

import datetime as dt

import mlflow
import numpy as np
import pandas as pd
import pytest

from marketdata.bars import ticks_to_bars
from marketdata.bi5 import decode_ticks
from marketdata.store import ParquetStore
from ml.dataset import features_for_day, training_frame
from ml.errors import InvalidBarsError, NotEnoughDataError, TrackingUnavailableError, UnknownFeatureSetError
from ml.features import DEFAULT_FEATURE_SET, compute_features, get_feature_set
from ml.registry import CHAMPION, PREVIOUS, PromotionGate, alias_version, promote
from ml.tracking import activate_experiment
from ml.training import TrainConfig, train_and_register
from tests.support.mlflow_server import mlflow_server, throwaway_database

DAYS = [dt.date(2019, 2, 4), dt.date(2019, 2, 5)]
LENIENT = PromotionGate(min_sharpe=-1e9, max_drawdown=1.0, min_trades=0, min_dsr=0.0)


@pytest.fixture(scope="module")
def frame(fixtures_dir, tmp_path_factory) -> pd.DataFrame:
    """Labelled features from the two EURUSD fixture days, built through the real store."""
    store = ParquetStore(tmp_path_factory.mktemp("lake"))
    for day in DAYS:
        ticks = []
        for hour in range(24):
            path = fixtures_dir / f"EURUSD/2019/{day.month - 1:02d}/{day.day:02d}/{hour:02d}h_ticks.bi5"
            start = int(dt.datetime.combine(day, dt.time(hour), dt.UTC).timestamp() * 1000)
            ticks.append(decode_ticks(path.read_bytes(), start, 1e5))
        store.write_bars("EURUSD", day, ticks_to_bars(pd.concat(ticks, ignore_index=True)))
        store.write_features("EURUSD", day, features_for_day(store, "EURUSD", day, DEFAULT_FEATURE_SET))
    return training_frame(store, ["EURUSD"], DAYS[0], DAYS[1], DEFAULT_FEATURE_SET, horizon=15)


@pytest.fixture(scope="module", params=["sqlite", "postgres-server"])
def tracking_uri(request, tmp_path_factory, postgres_dsn):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
        return
    admin = postgres_dsn.replace("postgresql+psycopg2://", "postgresql://")
    with throwaway_database(admin) as backend:
        art = tmp_path_factory.mktemp("mlflow-pg") / "artifacts"
        with mlflow_server(backend, art) as url:
            yield url


def test_train_register_and_alias_flow(frame, tracking_uri):
    client = activate_experiment(tracking_uri, "test-training")
    lineage = {"symbols": "EURUSD", "start": DAYS[0], "end": DAYS[1], "partitions": "2019-02-04|EURUSD"}
    first = train_and_register(frame, DEFAULT_FEATURE_SET, TrainConfig(family="logreg"), "flow", lineage)
    run = client.get_run(first.run_id)
    assert run.data.params["feature_set"] == "core@2"
    assert run.data.tags["lineage.partitions"] == "2019-02-04|EURUSD"
    assert len(client.get_metric_history(first.run_id, "cv_auc")) == 3  # one per walk-forward fold
    assert "preprocessing.json" in {a.path for a in client.list_artifacts(first.run_id)}
    assert first.test_start > frame["ts"].iloc[int(len(frame) * 0.6)]  # out of sample is the end

    assert promote(client, "flow", first.version, {"sharpe": 1.0, "max_drawdown": 0.01, "n_trades": 5,
                                                   "dsr": 0.99}, LENIENT)
    second = train_and_register(frame, DEFAULT_FEATURE_SET, TrainConfig(family="lgbm"), "flow", lineage)
    assert promote(client, "flow", second.version, {"sharpe": 2.0, "max_drawdown": 0.01, "n_trades": 5,
                                                    "dsr": 0.99}, LENIENT)
    assert alias_version(client, "flow", CHAMPION) == second.version
    assert alias_version(client, "flow", PREVIOUS) == first.version  # reachable for rollback
    strict = PromotionGate()
    assert not promote(client, "flow", first.version, {"sharpe": 0.1, "max_drawdown": 0.3, "n_trades": 3,
                                                       "dsr": 0.2}, strict)
    assert alias_version(client, "flow", CHAMPION) == second.version
    tags = client.get_model_version("flow", first.version).tags
    assert tags["gate.passed"] == "false" and "deflated sharpe" in tags["gate.failures"]

    served = mlflow.pyfunc.load_model("models:/flow@champion").unwrap_python_model()
    X = frame[DEFAULT_FEATURE_SET.columns].tail(20)
    batch = served.predict(None, X)["prob_up"].to_numpy()
    rows = [served.predict_row(x) for x in X.to_numpy(np.float64)]
    np.testing.assert_allclose(rows, batch, atol=1e-9)


def test_unreachable_mlflow_fails_before_anything_is_registered(frame):
    mlflow.set_tracking_uri("http://127.0.0.1:9")
    with pytest.raises(TrackingUnavailableError, match=r"127\.0\.0\.1:9 is unreachable"):
        train_and_register(frame, DEFAULT_FEATURE_SET, TrainConfig(), "never", {})


def test_bad_bars_are_refused():
    ts = pd.date_range("2024-01-01", periods=200, freq="1min", tz="UTC")
    bars = pd.DataFrame({c: 1.1 for c in ["bid_open", "bid_high", "bid_low", "bid_close", "ask_open",
                                          "ask_high", "ask_low", "ask_close"]}, index=range(200))
    bars = bars.assign(ts=ts, spread_mean=1e-4, spread_max=2e-4, tick_count=5)
    bars.loc[50, "bid_close"] = np.nan
    with pytest.raises(InvalidBarsError, match="NaN or inf"):
        compute_features(bars)
    bars.loc[50, "bid_close"] = np.inf
    with pytest.raises(InvalidBarsError):
        compute_features(bars)
    bars.loc[50, "bid_close"] = 1.1
    with pytest.raises(NotEnoughDataError, match="needs"):
        compute_features(bars.head(10))
    with pytest.raises(UnknownFeatureSetError, match="core@99"):
        get_feature_set("core@99")


def test_too_few_rows_to_train(frame, tmp_path):
    activate_experiment(f"sqlite:///{tmp_path / 'mlflow.db'}", "few")
    with pytest.raises(NotEnoughDataError):
        train_and_register(frame.head(50), DEFAULT_FEATURE_SET, TrainConfig(), "few", {})
