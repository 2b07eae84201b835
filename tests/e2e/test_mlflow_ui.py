"""The MLflow UI in a real browser shows the registered model with its @champion alias."""

import os
import sys
from pathlib import Path

from mlflow import MlflowClient

from tests.conftest import REPO
from tests.e2e.conftest import free_port, save_screenshot, start_server, stop_server, wait_http

NAME = "alphaforge-signal"


def test_registered_model_shows_champion_alias(browser, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    client.create_registered_model(NAME, description="alphaforge signal model")
    for _ in range(2):
        client.create_model_version(NAME, source=(tmp_path / "model").as_uri(), run_id=None)
    client.set_registered_model_alias(NAME, "champion", "2")
    client.set_registered_model_alias(NAME, "previous", "1")

    port = free_port()
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    log = tmp_path / "mlflow.log"
    proc = start_server([str(Path(sys.executable).with_name("mlflow")), "server", "--backend-store-uri",
                         uri, "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                         "--artifacts-destination", str(tmp_path / "artifacts")], env, log, REPO)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/health", proc, 120, log)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{base}/#/models/{NAME}", wait_until="domcontentloaded")
        page.get_by_text(NAME).first.wait_for(timeout=60_000)
        page.get_by_text("champion").first.wait_for(timeout=60_000)
        assert "previous" in page.inner_text("body")
        save_screenshot(page, tmp_path, "mlflow-registered-model.png")
    finally:
        stop_server(proc)
