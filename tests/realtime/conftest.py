"""Realtime fixtures: a small registered model on synthetic bars (fast), and app factories.

``pipeline_dir`` (the whole asset graph) is used by test_app.py only; everything else runs on
``rt_dir``: synthetic ticks -> 1m bars in a Parquet lake, a logistic regression trained on their
features, logged and registered in a sqlite MLflow and aliased @champion, in a few seconds.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import mlflow
import numpy as np
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from marketdata.bars import ticks_to_bars
from marketdata.store import ParquetStore
from marketdata.synthetic import SyntheticSource
from ml.families import make_classifier
from ml.features import DEFAULT_FEATURE_SET, compute_features
from ml.models import SignalModel
from ml.tracking import activate_experiment
from realtime.ledger import Ledger
from realtime.main import create_app
from realtime.settings import Settings

ADMIN_KEY = "rt-admin-key-for-tests-0123456789"
JWT_SECRET = "jwt-secret-for-tests-0123456789abcdef"
MODEL = "alphaforge-signal"
DAYS = [dt.date(2024, 3, 5), dt.date(2024, 3, 6)]


def register_model(data_dir: Path, alias: str = "champion", family: str = "logreg") -> str:
    """Train a tiny ``family`` model (a logistic regression unless asked) on the lake's bars,
    register it, alias it; return the version."""
    store = ParquetStore(data_dir / "lake")
    bars = store.read_bars("EURUSD", DAYS[0], DAYS[-1])
    feats = compute_features(bars, DEFAULT_FEATURE_SET).dropna()
    mid = ((bars["bid_close"] + bars["ask_close"]) / 2).to_numpy()
    y = (np.roll(mid, -5) > mid)[feats.index.to_numpy()].astype(int)
    X = feats[DEFAULT_FEATURE_SET.columns].to_numpy()
    if family == "logreg":  # needs no validation rows: fitted on all of them
        clf = make_classifier(family).fit(X, y, X[:0], y[:0])
    else:
        cut = int(len(X) * 0.8)
        clf = make_classifier(family).fit(X[:cut], y[:cut], X[cut:], y[cut:])
    model = SignalModel(clf, DEFAULT_FEATURE_SET, family, 0.52)
    activate_experiment(f"sqlite:///{data_dir / 'mlflow.db'}", "realtime-tests")  # artifacts in data_dir
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="model", python_model=model, registered_model_name=MODEL,
            pip_requirements=["torch"] if family in {"mlp", "tcn"} else ["scikit-learn"],
        )
    version = str(info.registered_model_version)
    mlflow.MlflowClient().set_registered_model_alias(MODEL, alias, version)
    return version


@pytest.fixture(scope="session")
def rt_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with two synthetic days of EURUSD bars and a @champion model."""
    data_dir = tmp_path_factory.mktemp("rt")
    store, src = ParquetStore(data_dir / "lake"), SyntheticSource(seed=11)
    for day in DAYS:
        store.write_bars("EURUSD", day, ticks_to_bars(src.fetch_day("EURUSD", day)))
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    register_model(data_dir)
    return data_dir


def settings_for(data_dir: Path, **kw: object) -> Settings:
    """Settings on ``data_dir`` with test secrets; keyword arguments override."""
    base: dict[str, object] = {
        "api_key": ADMIN_KEY,
        "jwt_secret": JWT_SECRET,
        "data_dir": data_dir,
        "mlflow_tracking_uri": f"sqlite:///{data_dir / 'mlflow.db'}",
        "symbols": ["EURUSD"],
        "ledger_url": f"sqlite:///{data_dir / 'ledger.db'}",
        "rate_limit_per_s": 1000.0,
        "rate_limit_burst": 1000,
    }
    base.update(kw)
    return Settings(**base)  # type: ignore[arg-type]


@pytest.fixture
def ledger_dir(rt_dir: Path, tmp_path: Path) -> Path:
    """A fresh dir for this test's ledger, sharing rt_dir's lake and MLflow via symlinks."""
    for name in ("lake", "mlflow.db", "mlruns"):
        if (rt_dir / name).exists():
            (tmp_path / name).symlink_to(rt_dir / name)
    return tmp_path


@pytest.fixture
def client(ledger_dir: Path) -> Iterator[TestClient]:
    """A running app (paper broker, fresh SQLite ledger) on the synthetic model."""
    with TestClient(create_app(settings_for(ledger_dir))) as c:
        yield c


def make_user(client: TestClient, name: str, role: str) -> dict[str, str]:
    """Create a user through the admin API; return X-API-Key headers for it."""
    r = client.post("/admin/users", json={"name": name, "role": role}, headers={"X-API-Key": ADMIN_KEY})
    assert r.status_code == 201, r.text
    return {"X-API-Key": r.json()["api_key"]}


@pytest.fixture
def pg_schema(postgres_dsn: str) -> Iterator[str]:
    """A fresh schema name on the test PostgreSQL database; the schema is dropped afterwards."""
    schema = f"rt_{uuid.uuid4().hex[:12]}"
    yield schema
    eng = sa.create_engine(postgres_dsn)
    with eng.begin() as c:
        c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    eng.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    """A fresh ledger on SQLite, then on PostgreSQL (a throwaway schema)."""
    if request.param == "sqlite":
        led = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
        yield led
        led.close()
        return
    led = Ledger(request.getfixturevalue("postgres_dsn"), schema=request.getfixturevalue("pg_schema"))
    yield led
    led.close()


@pytest.fixture
def pg_ledger(postgres_dsn: str, pg_schema: str) -> Iterator[Ledger]:
    """A fresh ledger on PostgreSQL alone (a throwaway schema)."""
    led = Ledger(postgres_dsn, schema=pg_schema)
    yield led
    led.close()


def metric_sample(text: str, metric: str, /, **labels: str) -> float | None:
    """The value of ``metric`` with exactly ``labels`` in a Prometheus exposition, or None."""
    for m in re.finditer(rf"^{metric}\{{(.*)\}} (\S+)$", text, re.M):
        if dict(re.findall(r'(\w+)="([^"]*)"', m.group(1))) == labels:
            return float(m.group(2))
    return None


def wait_for(cond: Callable[[], object], timeout: float = 10.0) -> bool:
    """Poll ``cond`` until it is true or ``timeout`` seconds pass; whether it became true."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return False
