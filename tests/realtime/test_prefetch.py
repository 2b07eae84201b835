"""The served model fetched in a second process while the service imports
(realtime.inference.prefetch), and what the app does when that fetch cannot be used."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest

from ml.registry import load_registered
from realtime.errors import ModelUnavailableError
from realtime.inference import prefetch
from realtime.inference.model import load_serving
from tests.conftest import free_port
from tests.realtime.conftest import ADMIN_KEY, MODEL, register_model

FETCHED = "was fetched while the service started"


@pytest.fixture()
def reg_dir(rt_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A registry of its own (two versions, @champion on the second) beside rt_dir's bars. The
    MLflow URIs that registering leaves in the environment are removed, as a fetch process
    started by the launcher would not have them."""
    (tmp_path / "lake").symlink_to(rt_dir / "lake")
    register_model(tmp_path, alias="previous")
    register_model(tmp_path)
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")  # where MLflow's default store would appear
    return tmp_path


def _uri(d: Path) -> str:
    return f"sqlite:///{d / 'mlflow.db'}"


def test_the_fetched_copy_is_the_champion(reg_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="realtime.inference.model")
    with prefetching_done(reg_dir, "champion") as work:
        loaded = load_serving(_uri(reg_dir), MODEL, "champion", False)
        assert work.exists()
    assert FETCHED in caplog.text
    assert (loaded.version, loaded.alias, loaded.signals_only) == ("2", "champion", False)
    direct = load_registered(_uri(reg_dir), MODEL, alias="champion").model
    x = np.random.default_rng(3).normal(size=len(direct.columns))
    assert loaded.model.predict_row(x) == direct.predict_row(x)
    assert not work.exists() and prefetch.ENV not in os.environ  # the copy goes with the launcher
    assert not list(Path.cwd().iterdir())  # the fetch read the registry asked for, not ./mlflow.db


def test_a_fetch_for_other_settings_is_not_used(reg_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="realtime.inference.model")
    with prefetching_done(reg_dir, "previous"):
        loaded = load_serving(_uri(reg_dir), MODEL, "champion", False)
    assert FETCHED not in caplog.text
    assert loaded.version == "2"


def test_a_failed_fetch_reads_as_a_missing_model(reg_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="realtime.inference")
    with prefetching_done(reg_dir, "staging"), pytest.raises(ModelUnavailableError) as failed:
        load_serving(_uri(reg_dir), MODEL, "staging", False)
    assert "no model at models:/alphaforge-signal@staging" in str(failed.value)
    assert "the model fetch failed" in caplog.text


def test_a_fetch_that_dies_ends_the_wait(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = tmp_path / "result.json"
    proc = subprocess.Popen([sys.executable, "-c", "import os; os._exit(9)"])
    prefetch._watch(proc, result)
    monkeypatch.setenv(prefetch.ENV, str(result))
    t0 = time.monotonic()
    assert prefetch.collect("sqlite:///x.db", MODEL, "champion", timeout_s=30) is None
    assert time.monotonic() - t0 < 1.0
    assert "status 9" in result.read_text()


def test_no_launcher_no_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(prefetch.ENV, raising=False)
    assert prefetch.collect("sqlite:///x.db", MODEL, "champion") is None


def test_the_launched_service_serves_the_fetched_champion(reg_dir: Path, tmp_path: Path) -> None:
    port, log_path, tmp = free_port(), tmp_path / "service.log", tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp), "REALTIME_API_KEY": ADMIN_KEY, "REALTIME_DATA_DIR": str(reg_dir),
           "REALTIME_MLFLOW_TRACKING_URI": _uri(reg_dir), "REALTIME_SYMBOLS": '["EURUSD"]',
           "REALTIME_LOG_LEVEL": "INFO"}
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen([sys.executable, "-m", "realtime.serving", "--port", str(port)],
                                cwd=reg_dir / "cwd", env=env, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            health = _wait_ready(port, proc)
        finally:
            proc.terminate()
            proc.wait(30)
    text = log_path.read_text()
    assert health["model_version"] == "2"
    assert FETCHED in text, text[-2000:]
    assert not list(tmp.iterdir())  # the fetched copy went with the launcher
    assert not list((reg_dir / "cwd").iterdir())  # and nothing read MLflow's default store


def _wait_ready(port: int, proc: subprocess.Popen[bytes]) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the service exited"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json()
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("the service did not become ready")


@contextmanager
def prefetching_done(d: Path, alias: str) -> Iterator[Path]:
    """``prefetch.prefetching`` for ``alias`` on ``d``'s registry, entered once its fetch ended,
    so that the test sees the fetch's answer rather than a race with the registry load; yields
    the fetch's working directory."""
    with prefetch.prefetching(_uri(d), MODEL, alias) as result:
        deadline = time.monotonic() + 120
        while not result.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        yield result.parent
