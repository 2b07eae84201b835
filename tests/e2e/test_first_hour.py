"""The first hour of a new user, in a real browser: a clean clone of the committed tree, then
`make demo`, `make dev`, `make mlflow` and `make serve` in it (free ports), each page populated,
with screenshots. The clone shares this checkout's virtualenv, and make is told the install stamp
is up to date (``-o``), so no target installs anything."""

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

VENV = Path(sys.prefix).resolve()
pytestmark = pytest.mark.timeout(1500)


def _clone(tmp_path: Path) -> Path:
    """``git clone`` of this checkout's committed HEAD, with the virtualenv linked in."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True, timeout=120)
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert subprocess.run(["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True,
                          text=True).stdout.strip() == head
    assert not (clone / "data").exists() and not (clone / "dbt" / "target").exists()  # nothing made yet
    (clone / ".venv").symlink_to(VENV)
    return clone


def _make(*targets: str) -> list[str]:
    """``make TARGETS`` with the install stamp taken as up to date: the venv is already installed."""
    return ["make", "--no-print-directory", "-o", ".venv/.installed", *targets]


def _env() -> dict[str, str]:
    """The user's environment: the Makefile picks the data dir, Dagster home and MLflow store."""
    env = {**os.environ, "ALPHAFORGE_SOURCE": "synthetic", "ALPHAFORGE_SYMBOLS": "EURUSD",
           "ALPHAFORGE_MODEL_FAMILIES": "logreg", "REALTIME_API_KEY": ADMIN_KEY,
           # the replay feed, fast, so that signals keep coming
           "REALTIME_FEED": "replay", "REALTIME_FEED_SPEED": "600"}
    for name in ("ALPHAFORGE_ENV", "ALPHAFORGE_DATA_DIR", "DAGSTER_HOME", "MLFLOW_TRACKING_URI",
                 "REALTIME_DATA_DIR", "REALTIME_MLFLOW_TRACKING_URI", "ALPHAFORGE_STORE",
                 "ALPHAFORGE_LAKE_URL", "VIRTUAL_ENV", "MAKEFLAGS", "MFLAGS"):
        env.pop(name, None)
    return env


def test_clean_clone_through_make_then_every_ui_is_populated(browser, tmp_path):
    clone, env = _clone(tmp_path), _env()
    data = clone / "data"  # the Makefile's default data dir
    demo = subprocess.run(_make("demo", "SOURCE=synthetic", "SYMBOLS=EURUSD", "START=2024-03-04",
                                "END=2024-03-05"), cwd=clone, env=env, capture_output=True, text=True,
                          timeout=900)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-3000:]
    assert "pip install" not in demo.stdout  # nothing was installed
    assert (clone / "dbt" / "target" / "manifest.json").exists() and (data / "lake").is_dir()
    promoted = "promoted to @champion = True" in demo.stdout
    assert ("serves @champion" if promoted else "for SIGNALS ONLY") in demo.stdout, demo.stdout
    (data / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")

    procs = []
    try:
        dport, mport, sport = free_port(), free_port(), free_port()
        log, mlog, slog = tmp_path / "dagster.log", tmp_path / "mlflow.log", tmp_path / "realtime.log"
        procs.append(start_server(_make("dev", f"DEV_PORT={dport}"), env, log, clone))
        procs.append(start_server(_make("mlflow", f"MLFLOW_PORT={mport}"), env, mlog, clone))
        procs.append(start_server(_make("serve", f"SERVE_PORT={sport}"), env, slog, clone))
        dagster, mlflow_ui, serve = (f"http://127.0.0.1:{p}" for p in (dport, mport, sport))
        wait_http(f"{serve}/health", procs[2], 180, slog)
        wait_http(f"{mlflow_ui}/health", procs[1], 180, mlog)
        wait_http(f"{dagster}/server_info", procs[0], 300, log)
        tracking_uri = f"sqlite:///{data / 'mlflow.db'}"

        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        # Dagster: the code location loads and the evaluation carries its tearsheet
        page.goto(f"{dagster}/locations", wait_until="domcontentloaded")
        _dismiss_community_dialog(page)
        page.get_by_text("Loaded").first.wait_for(timeout=180_000)
        save_screenshot(page, tmp_path, "first-hour-dagster-locations.png")
        page.goto(f"{dagster}/assets/model_evaluation", wait_until="domcontentloaded")
        page.get_by_text("mlflow_run").first.wait_for(timeout=120_000)
        save_screenshot(page, tmp_path, "first-hour-dagster-evaluation.png")
        # the market data's partitions are the two days the demo ingested, not a decade of empty ones
        page.goto(f"{dagster}/assets/bars_1m?view=partitions", wait_until="domcontentloaded")
        page.get_by_text("2024-03-05").first.wait_for(timeout=60_000)
        page.get_by_text("Missing (0)").first.wait_for(timeout=60_000)  # no day x symbol left empty
        assert page.get_by_text("2012-12-01").count() == 0
        save_screenshot(page, tmp_path, "first-hour-dagster-partitions.png")

        # MLflow: the demo's training run, with its tearsheet
        client = MlflowClient(tracking_uri=tracking_uri)
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
