"""The realtime app loads models:/NAME@champion and serves a signal from replayed bars."""

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from mlflow import MlflowClient
from pydantic import ValidationError

from marketdata.store import ParquetStore
from ml.features import DEFAULT_FEATURE_SET, compute_features
from realtime.main import create_app
from realtime.settings import Settings

KEY = "k3y-for-tests-only-0123"


def _settings(data_dir, **kw) -> Settings:
    return Settings(
        api_key=KEY,
        mlflow_tracking_uri=f"sqlite:///{data_dir / 'mlflow.db'}",
        data_dir=data_dir,
        symbols=["EURUSD"],
        **kw,
    )


def test_serves_the_champion_signal(pipeline_dir):
    with TestClient(create_app(_settings(pipeline_dir))) as client:
        health = client.get("/health").json()
        assert health["model_alias"] == "champion"
        client_ml = MlflowClient(tracking_uri=f"sqlite:///{pipeline_dir / 'mlflow.db'}")
        champion = client_ml.get_model_version_by_alias("alphaforge-signal", "champion")
        assert str(health["model_version"]) == str(champion.version)
        r = client.get("/api/v1/signals/eurusd", headers={"X-API-Key": KEY})
        assert r.status_code == 200
        body = r.json()
        assert body["features_ts"].startswith("2019-02-05T23:59")
        assert body["signal"] in (-1, 0, 1)
        # The served probability equals the batch model's on the batch features of that bar.
        app_model = client.app.state.engine.loaded.model
        day = dt.date(2019, 2, 5)
        bars = ParquetStore(pipeline_dir / "lake").read_bars("EURUSD", day, day)
        last = compute_features(bars, DEFAULT_FEATURE_SET).iloc[[-1]]
        # The served features equal the batch features (one feature definition; serving keeps
        # O(1) running state per bar, so they agree to float rounding, within 1e-9) ...
        served = client.app.state.engine.latest("EURUSD").features
        assert [served[c] for c in app_model.columns] == pytest.approx(
            last[app_model.columns].to_numpy()[0].tolist(), rel=0.0, abs=1e-9, nan_ok=True)
        # ... and predict_row (the realtime fast path) matches the batch predict up to the model
        # family's float arithmetic (a torch MLP's single-row path differs by ~1e-9).
        assert body["prob_up"] == pytest.approx(app_model.predict(None, last)["prob_up"].iloc[0], abs=1e-6)


def test_auth_and_unknown_symbol(pipeline_dir):
    with TestClient(create_app(_settings(pipeline_dir))) as client:
        assert client.get("/api/v1/signals/EURUSD").status_code == 401
        wrong = {"X-API-Key": "wrong-key-123456"}
        assert client.get("/api/v1/signals/EURUSD", headers=wrong).status_code == 401
        r = client.get("/api/v1/signals/XAUUSD", headers={"X-API-Key": KEY})
        assert r.status_code == 404 and "not served" in r.json()["detail"]


def test_missing_alias_fails_clearly(pipeline_dir):
    app = create_app(_settings(pipeline_dir, model_alias="no-such-alias", serve_newest_without_alias=False))
    expected = "no model at models:/alphaforge-signal@no-such-alias"
    with pytest.raises(Exception, match=expected), TestClient(app):
        pass


@pytest.mark.parametrize("key", ["changeme", "short", ""])
def test_placeholder_api_keys_are_refused(key):
    with pytest.raises(ValidationError):
        Settings(api_key=key)


def test_oversized_bodies_get_413_with_or_without_content_length(ledger_dir):
    from tests.realtime.conftest import ADMIN_KEY, settings_for

    headers = {"X-API-Key": ADMIN_KEY, "Content-Type": "application/json"}
    with TestClient(create_app(settings_for(ledger_dir, max_body_bytes=4096))) as client:
        r = client.post("/api/v1/orders", content=b" " * 10_000, headers=headers)
        assert r.status_code == 413 and r.json() == {"detail": "request body larger than 4096 bytes"}

        def chunks():  # a generator body goes out chunked: no Content-Length to check up front
            for _ in range(10):
                yield b" " * 1000

        r = client.post("/api/v1/orders", content=chunks(), headers=headers)
        assert "content-length" not in r.request.headers
        assert r.status_code == 413 and r.json() == {"detail": "request body larger than 4096 bytes"}
        # A chunked body under the limit is read as usual (here: not valid JSON, so a 422).
        r = client.post("/api/v1/orders", content=iter([b"{", b"nope"]), headers=headers)
        assert r.status_code == 422
