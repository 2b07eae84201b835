"""The Dagster UI in a real browser: the asset graph shows the groups, a materialisation
launched from the UI succeeds, and a screenshot is saved."""

import os
import re
import sys
import time
from pathlib import Path

import dagster as dg

from tests.conftest import REPO
from tests.e2e.conftest import free_port, save_screenshot, start_server, stop_server, wait_http

GROUPS = ["market_data", "features", "models", "analytics"]


def _wait_for_run(home: Path, timeout: float = 240) -> dg.DagsterRun:
    deadline = time.monotonic() + timeout
    with dg.DagsterInstance.from_config(str(home)) as instance:
        while time.monotonic() < deadline:
            runs = instance.get_runs(limit=1)
            if runs and runs[0].is_finished:
                return runs[0]
            time.sleep(2)
    raise AssertionError("no finished run within the timeout")


def _dismiss_community_dialog(page) -> None:
    """A fresh instance greets the first visit with a newsletter dialog over the page."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=15_000)
        skip.click()
    except Exception:  # no dialog this time: nothing to dismiss
        pass


def test_asset_graph_and_materialise_from_the_ui(browser, tmp_path):
    home, data = tmp_path / "dagster_home", tmp_path / "data"
    home.mkdir()
    data.mkdir()
    # no daemon here: launch runs straight away instead of queueing them (1.13's default)
    (home / "dagster.yaml").write_text(
        "run_coordinator:\n  module: dagster.core.run_coordinator\n  class: DefaultRunCoordinator\n"
        "telemetry:\n  enabled: false\n")
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "ALPHAFORGE_DATA_DIR": str(data),
           "ALPHAFORGE_SOURCE": "synthetic", "ALPHAFORGE_ENV": "local"}
    env.pop("MLFLOW_TRACKING_URI", None)
    webserver = Path(sys.executable).with_name("dagster-webserver")
    log = tmp_path / "webserver.log"
    proc = start_server([str(webserver), "-h", "127.0.0.1", "-p", str(port), "-w",
                         str(REPO / "workspace.yaml")], env, log, REPO)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/server_info", proc, 180, log)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(f"{base}/asset-groups", wait_until="domcontentloaded")
        _dismiss_community_dialog(page)
        for group in GROUPS:  # the global lineage lists every group of the code location
            page.get_by_text(group, exact=True).first.wait_for(timeout=120_000)
        save_screenshot(page, tmp_path, "dagster-asset-graph.png")

        page.get_by_text("analytics", exact=True).first.wait_for(timeout=10_000)
        page.goto(f"{base}/assets/bar_coverage", wait_until="domcontentloaded")
        # the button's text carries an icon glyph before the word
        button = page.locator("button").filter(has_text=re.compile(r"Materialize\s*$")).first
        try:
            button.click(timeout=120_000)
        except Exception:
            save_screenshot(page, tmp_path, "dagster-asset-page-failed.png")
            raise
        # bars_1m was never materialised here, so the UI asks "Are you sure?" first
        page.get_by_role("button", name="Confirm").click(timeout=60_000)
        run = _wait_for_run(home)
        assert run.status == dg.DagsterRunStatus.SUCCESS, log.read_text()[-3000:]
        page.goto(f"{base}/runs/{run.run_id}", wait_until="domcontentloaded")
        page.get_by_text("Success").first.wait_for(timeout=60_000)
        save_screenshot(page, tmp_path, "dagster-run.png")
        assert (data / "analytics.duckdb").exists()  # dbt built the model for real
    finally:
        stop_server(proc)
