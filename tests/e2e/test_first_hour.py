"""The first hour of a new user, in a real browser: the demo on a clean data dir, then what
`make dev`, `make mlflow` and `make serve` run (their commands, on free ports: the targets
themselves would install into the venv first), each page populated, with screenshots."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.conftest import REPO
from tests.e2e.conftest import free_port, save_screenshot, start_server, stop_server, wait_http
from tests.e2e.test_dagster_ui import _dismiss_community_dialog
from tests.realtime.conftest import ADMIN_KEY

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.timeout(1500)


def _env(data: Path) -> dict[str, str]:
    env = {**os.environ, "ALPHAFORGE_DATA_DIR": str(data), "DAGSTER_HOME": str(data / "dagster_home"),
           "MLFLOW_TRACKING_URI": f"sqlite:///{data / 'mlflow.db'}", "ALPHAFORGE_SOURCE": "synthetic",
           "ALPHAFORGE_SYMBOLS": "EURUSD", "ALPHAFORGE_MODEL_FAMILIES": "logreg",
           # the Makefile puts the venv first on PATH: dagster-dbt runs `dbt` by name
           "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
    env.pop("ALPHAFORGE_ENV", None)
    return env


def test_demo_then_every_ui_is_populated(browser, tmp_path):
    data = tmp_path / "data"
    env = _env(data)
    demo = subprocess.run([sys.executable, "-m", "cli.demo", "--source", "synthetic", "--symbols", "EURUSD",
                           "--start", "2024-03-04", "--end", "2024-03-05"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)
    assert demo.returncode == 0, demo.stderr[-3000:]
    promoted = "promoted to @champion = True" in demo.stdout
    assert ("serves @champion" if promoted else "for SIGNALS ONLY") in demo.stdout, demo.stdout
    (data / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")

    procs = []
    try:
        # make dev
        dport, log = free_port(), tmp_path / "dagster.log"
        procs.append(start_server([str(BIN / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(dport),
                                   "-w", "workspace.yaml"], env, log, REPO))
        # make mlflow
        mport, mlog = free_port(), tmp_path / "mlflow.log"
        procs.append(start_server([str(BIN / "mlflow"), "server", "--backend-store-uri",
                                   env["MLFLOW_TRACKING_URI"], "--host", "127.0.0.1", "--port", str(mport),
                                   "--workers", "1"],
                                  {**env, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}, mlog, REPO))
        # make serve, with the replay feed so that signals keep coming
        sport, slog = free_port(), tmp_path / "realtime.log"
        procs.append(start_server([str(BIN / "uvicorn"), "realtime.main:create_app", "--factory", "--host",
                                   "127.0.0.1", "--port", str(sport)],
                                  {**env, "REALTIME_API_KEY": ADMIN_KEY, "REALTIME_DATA_DIR": str(data),
                                   "REALTIME_MLFLOW_TRACKING_URI": env["MLFLOW_TRACKING_URI"],
                                   "REALTIME_FEED": "replay", "REALTIME_FEED_SPEED": "600"}, slog, REPO))
        dagster, mlflow_ui, serve = (f"http://127.0.0.1:{p}" for p in (dport, mport, sport))
        wait_http(f"{serve}/health", procs[2], 180, slog)
        wait_http(f"{mlflow_ui}/health", procs[1], 180, mlog)
        wait_http(f"{dagster}/server_info", procs[0], 300, log)

        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        # Dagster: the code location loads and the evaluation carries its tearsheet
        page.goto(f"{dagster}/locations", wait_until="domcontentloaded")
        _dismiss_community_dialog(page)
        page.get_by_text("Loaded").first.wait_for(timeout=180_000)
        save_screenshot(page, tmp_path, "first-hour-dagster-locations.png")
        page.goto(f"{dagster}/assets/model_evaluation", wait_until="domcontentloaded")
        page.get_by_text("mlflow_run").first.wait_for(timeout=120_000)
        save_screenshot(page, tmp_path, "first-hour-dagster-evaluation.png")

        # MLflow: the demo's training run, with its tearsheet
        client = MlflowClient(tracking_uri=env["MLFLOW_TRACKING_URI"])
        exp = client.get_experiment_by_name("alphaforge")
        run = client.search_runs([exp.experiment_id], "tags.family = 'logreg'")[0]
        page.goto(f"{mlflow_ui}/#/experiments/{exp.experiment_id}/runs", wait_until="domcontentloaded")
        page.get_by_text(run.info.run_name).first.wait_for(timeout=120_000)
        save_screenshot(page, tmp_path, "first-hour-mlflow-runs.png")
        page.goto(f"{mlflow_ui}/#/experiments/{exp.experiment_id}/runs/{run.info.run_id}/artifacts",
                  wait_until="domcontentloaded")
        page.get_by_text("tearsheet").first.wait_for(timeout=120_000)
        save_screenshot(page, tmp_path, "first-hour-mlflow-tearsheet.png")

        # the dashboard: live signals, and the mode the demo announced
        page.goto(f"{serve}/dashboard/", wait_until="domcontentloaded")
        page.fill("#key", ADMIN_KEY)
        page.click("#login button[type=submit]")
        # the replay of the newest day is over by now: the page shows its last signal
        page.wait_for_function("/(long|short|flat)/.test(document.getElementById('signals').textContent)",
                               timeout=120_000)
        assert "EURUSD" in page.inner_text("#signals")
        assert "paper" in page.inner_text("#account")
        banner = page.inner_text("#banner") if page.locator("#banner").is_visible() else ""
        assert ("Signals only" in banner) is (not promoted)
        save_screenshot(page, tmp_path, "first-hour-dashboard.png")
    finally:
        for proc in procs:
            stop_server(proc)
