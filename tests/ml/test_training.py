"""Training on bars built from the real fixtures; registration and the alias flow on two MLflow
backends (a sqlite store, and an `mlflow server` on PostgreSQL); the bad-input paths."""

import datetime as dt

import mlflow
import numpy as np
import pandas as pd
import pytest

from marketdata.store import ParquetStore
from ml.dataset import training_frame
from ml.errors import (
    InvalidBarsError,
    LeakageError,
    NotEnoughDataError,
    TrackingUnavailableError,
    UnknownFeatureSetError,
)
from ml.features import DEFAULT_FEATURE_SET, compute_features, get_feature_set
from ml.oos_window import check_oos_start, version_window
from ml.registry import CHAMPION, PREVIOUS, PromotionGate, alias_version, promote
from ml.tracking import activate_experiment
from ml.training import TrainConfig, train_and_register
from tests.support.mlflow_server import mlflow_server, throwaway_database
from tests.support.stored_days import store_fixture_days

DAYS = [dt.date(2019, 2, 4), dt.date(2019, 2, 5)]
LENIENT = PromotionGate(min_sharpe=-1e9, max_drawdown=1.0, min_trades=0, min_dsr=0.0, min_psr=0.0,
                        require_track_record=False, require_lookahead_check=False)


@pytest.fixture(scope="module")
def frame(fixtures_dir, tmp_path_factory) -> pd.DataFrame:
    """Labelled features from the two EURUSD fixture days, built through the real store."""
    store = ParquetStore(tmp_path_factory.mktemp("lake"))
    store_fixture_days(store, fixtures_dir, "EURUSD", DAYS)
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
    # the version carries its training window; the run its test start (read by re-evaluations)
    window = version_window(client, "flow", first.version)
    assert window.test_start == first.test_start and window.purge == 15 and window.embargo == 30
    assert window.label_end < window.test_start and window.train_end < window.label_end
    assert pd.Timestamp(run.data.tags["lineage.test_start"]) == first.test_start
    with pytest.raises(LeakageError):
        check_oos_start(window, window.train_end)

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


def test_frame_keeps_bars_without_a_label_so_windows_never_skip_bars(frame):
    from ml.nets.windows import build_windows

    assert frame["label"].isna().any()  # dead-zone / end-of-data rows stay as bars
    assert frame["label_end"].notna().sum() >= frame["label"].notna().sum()
    assert ((frame["weight"] > 0) & (frame["weight"] <= 1)).sum() == frame["label"].notna().sum()
    w = build_windows(len(frame), 8, frame["symbol"].to_numpy())
    ts = frame["ts"].to_numpy()[w.window_rows()]
    steps = np.diff(ts, axis=1) / np.timedelta64(1, "m")
    labelled = frame["label"].notna().to_numpy()
    # a window over the frame spans exactly the bars the live feed would hold, labelled or not
    assert (steps == 1).mean() > 0.95
    assert not labelled[w.window_rows()].all()


def test_triple_barrier_frame_labels_time_barrier_rows(frame, tmp_path_factory):
    from ml.dataset import training_frame as tf

    store_root = tmp_path_factory.getbasetemp()
    stores = [p for p in store_root.glob("lake*") if p.is_dir()]
    store = ParquetStore(stores[0])
    tb = tf(store, ["EURUSD"], DAYS[0], DAYS[1], DEFAULT_FEATURE_SET, horizon=15, label="triple_barrier")
    # with time-barrier outcomes labelled, only flat outcomes and the data's end lack a label
    assert tb["label"].notna().mean() > 0.9
    costed = tf(store, ["EURUSD"], DAYS[0], DAYS[1], DEFAULT_FEATURE_SET, horizon=15,
                cost_commission_per_lot=3.5)
    assert costed["label"].notna().sum() < frame["label"].notna().sum()  # the cost dead zone
    assert len(costed) == len(frame)  # ... drops labels, never bars


@pytest.mark.parametrize("family", ["logreg", "lgbm", "mlp", "tcn"])
def test_every_family_takes_sample_weights_and_unlabelled_rows(frame, family):
    from ml.training import fit_classifier

    params = {"max_epochs": 2} if family in {"mlp", "tcn"} else {}
    if family == "tcn":
        params["lookback"] = 8
    cfg = TrainConfig(family=family, params=params, sample_weight="uniqueness")
    clf = fit_classifier(frame, DEFAULT_FEATURE_SET, cfg)
    p = clf.predict_proba(frame[DEFAULT_FEATURE_SET.columns].to_numpy(np.float64), frame["symbol"].to_numpy())
    assert np.isfinite(p[-100:]).all()


def test_holdout_and_early_stopping_splits_are_purged_by_label_end(frame):
    from ml.training import fit_classifier, purged_cut, split_train_test

    for horizon in (15, 60):
        cfg = TrainConfig(horizon=horizon, embargo=30)
        train, test = split_train_test(frame, cfg)
        times = np.unique(frame["ts"])
        assert train["label_end"].max() < test["ts"].min()
        # the embargo: 30 bar times between the last training label end and the test
        gap = np.searchsorted(times, test["ts"].min()) - np.searchsorted(times, train["label_end"].max())
        assert gap > 30
        fit, val = purged_cut(train, cfg, cfg.val_fraction)
        assert train[fit]["label_end"].max() < train[val]["ts"].min()
    assert fit_classifier(train, DEFAULT_FEATURE_SET, cfg) is not None


def test_pbo_over_families_and_hyperparameters_with_cpcv(frame):
    from ml.selection import select_candidates

    cv = TrainConfig(cv="cpcv", cv_splits=3, embargo=10)
    candidates = [TrainConfig(family="logreg", params={"C": c}, threshold=t)
                  for c in (0.01, 1.0) for t in (0.52, 0.55)]
    candidates.append(TrainConfig(family="lgbm", params={"n_estimators": 30}))
    sel = select_candidates(frame, DEFAULT_FEATURE_SET, candidates, cv, n_splits=4)
    assert sel.returns.shape[1] == 5 and len(sel.returns) > 500
    assert 0.0 <= sel.pbo <= 1.0
