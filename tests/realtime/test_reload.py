"""Model reloads: the alias moves, a broken version is refused, the old model keeps serving."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import mlflow
import pytest
from fastapi.testclient import TestClient

from realtime.inference.model import load_by_alias
from realtime.inference.reloader import ModelReloader
from realtime.inference.signals import SignalEngine
from realtime.main import create_app
from tests.realtime.conftest import ADMIN_KEY, MODEL, settings_for

ADMIN = {"X-API-Key": ADMIN_KEY}


def _gauge(text: str, alias: str) -> float | None:
    """The realtime_model_version sample for ``alias`` (labels in any order)."""
    for m in re.finditer(r"^realtime_model_version\{(.*)\} (\S+)$", text, re.M):
        if dict(re.findall(r'(\w+)="([^"]*)"', m.group(1))) == {"name": MODEL, "alias": alias}:
            return float(m.group(2))
    return None


@pytest.fixture
def alias(ledger_dir):
    """A throwaway alias on the shared registry, at the champion's version; removed after."""
    client = mlflow.MlflowClient(f"sqlite:///{ledger_dir / 'mlflow.db'}")
    v1 = client.get_model_version_by_alias(MODEL, "champion")
    name = f"rt-reload-{id(object())}"
    client.set_registered_model_alias(MODEL, name, str(v1.version))
    yield client, v1, name
    client.delete_registered_model_alias(MODEL, name)


def _corrupt_version(client: mlflow.MlflowClient, v1, uri: str, where: Path) -> str:
    """A new registry version whose pickled model is garbage (not an MLflow error to load)."""
    src = Path(mlflow.artifacts.download_artifacts(f"models:/{MODEL}/{v1.version}", tracking_uri=uri))
    shutil.copytree(src, where)
    pickles = list(where.rglob("*.pkl"))
    assert pickles, "the logged model has no pickle to corrupt"
    for p in pickles:
        p.write_bytes(b"garbage-not-a-pickle")
    return str(client.create_model_version(MODEL, source=str(where)).version)


def test_reload_follows_the_alias_and_moves_the_version_gauge(ledger_dir, alias):
    client, v1, name = alias
    with TestClient(create_app(settings_for(ledger_dir, model_alias=name))) as c:
        assert c.get("/health").json()["model_version"] == str(v1.version)
        assert _gauge(c.get("/metrics").text, name) == float(v1.version)
        r = c.post("/admin/reload", headers=ADMIN)
        assert r.status_code == 200
        assert r.json() == {"reloaded": False, "version": str(v1.version), "error": None}
        v2 = client.create_model_version(MODEL, source=v1.source, run_id=v1.run_id)
        client.set_registered_model_alias(MODEL, name, str(v2.version))
        r = c.post("/admin/reload", headers=ADMIN)
        assert r.status_code == 200 and r.json()["reloaded"] and r.json()["version"] == str(v2.version)
        assert c.get("/health").json()["model_version"] == str(v2.version)
        assert _gauge(c.get("/metrics").text, name) == float(v2.version)
        # A version with no artifact behind it: refused with a 502, v2 keeps serving.
        broken = client.create_model_version(MODEL, source=str(ledger_dir / "no-such-model"))
        client.set_registered_model_alias(MODEL, name, str(broken.version))
        r = c.post("/admin/reload", headers=ADMIN)
        assert r.status_code == 502
        body = r.json()
        assert not body["reloaded"] and body["version"] == str(v2.version) and "no model at" in body["error"]
        assert c.get("/health").json()["model_version"] == str(v2.version)
        assert c.get("/ready").json()["model_reload_error"] == body["error"]
        assert _gauge(c.get("/metrics").text, name) == float(v2.version)
        assert c.get("/api/v1/signals/EURUSD", headers=ADMIN).status_code == 200


def test_a_corrupt_model_is_refused_with_a_clear_error_and_the_old_one_serves(ledger_dir, alias, tmp_path):
    client, v1, name = alias
    uri = f"sqlite:///{ledger_dir / 'mlflow.db'}"
    with TestClient(create_app(settings_for(ledger_dir, model_alias=name))) as c:
        bad = _corrupt_version(client, v1, uri, tmp_path / "bad-model")
        client.set_registered_model_alias(MODEL, name, bad)
        r = c.post("/admin/reload", headers=ADMIN)
        assert r.status_code == 502, r.text
        body = r.json()
        assert body["reloaded"] is False and body["version"] == str(v1.version)
        assert "could not be loaded" in body["detail"] and "Unpickling" in body["detail"]
        ready = c.get("/ready").json()
        assert ready["model_reload_error"] == body["detail"] and ready["checks"]["model"] is True
        assert c.get("/health").json()["model_version"] == str(v1.version)
        assert _gauge(c.get("/metrics").text, name) == float(v1.version)
        assert c.get("/api/v1/signals/EURUSD", headers=ADMIN).status_code == 200
        # Back on a good version: the reload succeeds and the error clears.
        client.set_registered_model_alias(MODEL, name, str(v1.version))
        assert c.post("/admin/reload", headers=ADMIN).status_code == 200
        assert c.get("/ready").json()["model_reload_error"] is None


def test_polling_survives_a_corrupt_model(ledger_dir, alias, tmp_path):
    client, v1, name = alias
    uri = f"sqlite:///{ledger_dir / 'mlflow.db'}"
    loaded = load_by_alias(uri, MODEL, name)
    engine = SignalEngine(loaded, ["EURUSD"])
    swaps: list[str] = []
    reloader = ModelReloader(engine, uri, MODEL, name, on_swap=lambda m: swaps.append(m.version))
    client.set_registered_model_alias(MODEL, name, _corrupt_version(client, v1, uri, tmp_path / "bad"))

    async def run() -> tuple[bool, str | None, bool]:
        task = asyncio.create_task(reloader.poll(0.05))
        for _ in range(200):  # up to ~10 s for the first failed load
            await asyncio.sleep(0.05)
            if reloader.last_error:
                break
        await asyncio.sleep(0.3)  # several more rounds after the failure
        alive_after_failure, error = not task.done(), reloader.last_error
        v2 = client.create_model_version(MODEL, source=v1.source, run_id=v1.run_id)
        client.set_registered_model_alias(MODEL, name, str(v2.version))
        for _ in range(200):
            await asyncio.sleep(0.05)
            if swaps:
                break
        alive = not task.done()
        task.cancel()
        return alive_after_failure, error, alive

    alive_after_failure, error, alive = asyncio.run(run())
    assert alive_after_failure and alive
    assert error is not None and "could not be loaded" in error
    assert len(swaps) == 1 and engine.loaded.version == swaps[0] != str(v1.version)
    assert reloader.last_error is None
