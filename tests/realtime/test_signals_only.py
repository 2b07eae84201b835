"""Without @champion the service serves the newest version for signals only: orders get 423,
/health says so, and promoting a version (then a reload) turns trading on."""

from pathlib import Path

import mlflow
import pytest
from fastapi.testclient import TestClient

from marketdata.bars import ticks_to_bars
from marketdata.store import ParquetStore
from marketdata.synthetic import SyntheticSource
from realtime.main import create_app
from tests.realtime.conftest import ADMIN_KEY, DAYS, MODEL, register_model, settings_for

ADMIN = {"X-API-Key": ADMIN_KEY}
ORDER = {"symbol": "EURUSD", "side": "buy", "volume": 0.1, "client_order_id": "so-1"}


@pytest.fixture(scope="module")
def unpromoted_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Bars and two registered versions, neither of them @champion."""
    data_dir = tmp_path_factory.mktemp("signals-only")
    store, src = ParquetStore(data_dir / "lake"), SyntheticSource(seed=11)
    for day in DAYS:
        store.write_bars("EURUSD", day, ticks_to_bars(src.fetch_day("EURUSD", day)))
    register_model(data_dir, alias="challenger")
    register_model(data_dir, alias="challenger")
    return data_dir


def _fresh(src: Path, tmp_path: Path) -> Path:
    for name in ("lake", "mlflow.db", "mlartifacts"):
        if (src / name).exists():
            (tmp_path / name).symlink_to(src / name)
    return tmp_path


def test_newest_version_serves_signals_and_orders_are_refused(unpromoted_dir, tmp_path):
    with TestClient(create_app(settings_for(_fresh(unpromoted_dir, tmp_path)))) as client:
        health = client.get("/health").json()
        assert health["mode"] == "signals-only" and health["trading_enabled"] is False
        assert health["model_version"] == "2" and health["model_alias"] == "champion"
        assert "423" in health["banner"] and "not promoted" in health["banner"]
        sig = client.get("/api/v1/signals/EURUSD", headers=ADMIN)
        assert sig.status_code == 200 and sig.json()["model_version"] == "2"
        r = client.post("/api/v1/orders", json=ORDER, headers=ADMIN)
        assert r.status_code == 423
        assert r.json()["detail"].startswith("Signals only: no alphaforge-signal@champion")
        assert client.get("/api/v1/orders", headers=ADMIN).json() == []  # nothing reached the ledger


def test_promotion_and_reload_turn_trading_on(unpromoted_dir, tmp_path):
    # a private copy of the registry: this test moves an alias
    data = tmp_path / "data"
    data.mkdir()
    (data / "lake").symlink_to(unpromoted_dir / "lake")
    (data / "mlflow.db").write_bytes((unpromoted_dir / "mlflow.db").read_bytes())
    (data / "mlartifacts").symlink_to(unpromoted_dir / "mlartifacts")
    with TestClient(create_app(settings_for(data))) as client:
        assert client.post("/api/v1/orders", json=ORDER, headers=ADMIN).status_code == 423
        registry = mlflow.MlflowClient(f"sqlite:///{data / 'mlflow.db'}")
        registry.set_registered_model_alias(MODEL, "champion", "2")
        reload = client.post("/admin/reload", headers=ADMIN).json()
        assert reload["reloaded"] is True and reload["version"] == "2"
        health = client.get("/health").json()
        assert health["mode"] == "trading" and health["banner"] is None
        assert client.post("/api/v1/orders", json=ORDER, headers=ADMIN).status_code == 201


def test_without_the_fallback_a_missing_alias_stops_start_up(unpromoted_dir, tmp_path):
    app = create_app(settings_for(_fresh(unpromoted_dir, tmp_path), serve_newest_without_alias=False))
    with pytest.raises(Exception, match="no model at models:/alphaforge-signal@champion"), TestClient(app):
        pass


def test_an_empty_registry_names_the_fix(tmp_path):
    app = create_app(settings_for(tmp_path))
    with pytest.raises(Exception, match="no version of alphaforge-signal is registered: train one first"), \
            TestClient(app):
        pass
