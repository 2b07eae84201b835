"""Production runs share no disk: a run pod's output is read by the next pod and by the realtime tier.

The ingest job (two fixture days) and the train job run as production runs them, each step in a
pod of its own (tests.support.step_pods: a process with fresh, empty working directory, HOME,
TMPDIR, ALPHAFORGE_DATA_DIR and DAGSTER_HOME, deleted when the step ends; pods are forked by
tests.support.pod_node, which has the third-party libraries imported already), on production's
resources: ClickHouse for market data and the outputs steps pass on (ClickHouse's HTTP interface
served by chDB), an MLflow server on PostgreSQL that proxies artifacts, and Dagster's run and
event storage in PostgreSQL. Then the realtime service starts in another empty pod, from
environment variables only, warms up from the store and serves the model the train run promoted.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest
from dagster._core.execution.stats import StepEventStatus
from mlflow import MlflowClient

from marketdata.clickhouse_store import ClickHouseStore
from tests.conftest import REPO, free_port, require
from tests.support.clickhouse_http import clickhouse_http_server
from tests.support.dagster_home import dagster_home, instance_yaml
from tests.support.mlflow_server import mlflow_server, throwaway_database
from tests.support.pipeline import FIXTURE_DAYS, LENIENT_GATE
from tests.support.pod_node import Pod, pod_node
from tests.support.step_pods import NODE_ENV, POD_LOG, close_pod, new_pod

pytestmark = [pytest.mark.integration, pytest.mark.fixtures]

SYMBOL = "EURUSD"
MODEL = "alphaforge-signal"
API_KEY = "no-shared-disk-admin-key-0123456789"
INGEST_STEPS = {"ticks", "bars_1m", "features"}
# Third-party libraries the node imports once for all its pods (an image's warm cache).
PRELOAD = ["dagster", "dagster._cli", "dagster_postgres", "dagster_dbt", "mlflow", "sklearn.linear_model",
           "sklearn.metrics", "pandas", "pyarrow.parquet", "clickhouse_connect", "psycopg2", "httpx",
           "duckdb", "scipy.stats"]
# Steps each run has at least (the train job may grow steps; each must run in a pod all the same).
TRAIN_STEPS = {"training_set", "signal_model_logreg", "model_evaluation", "promotion", "backtest_outputs"}


def _production_env(clickhouse_url: str, mlflow_url: str, datafeed_url: str) -> dict[str, str]:
    """What the chart's config map and secrets give every run pod."""
    keep = {"PATH", "LANG", "LC_ALL", "CI"}
    return {**{k: v for k, v in os.environ.items() if k in keep},
            # the image's code and its interpreter's scripts (`dagster`), not data
            "PYTHONPATH": str(REPO), "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            "ALPHAFORGE_ENV": "production", "ALPHAFORGE_STORE": "clickhouse",
            "ALPHAFORGE_CLICKHOUSE_URL": clickhouse_url, "ALPHAFORGE_DUKASCOPY_URL": datafeed_url,
            "MLFLOW_TRACKING_URI": mlflow_url, "ALPHAFORGE_SYMBOLS": SYMBOL,
            "ALPHAFORGE_MODEL_FAMILIES": "logreg", "ALPHAFORGE_SOURCE": "dukascopy",
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def _run_pod(scratch: Path, instance_yaml: str, env: dict[str, str], job: str, partition: str | None = None,
             config: dict[str, Any] | None = None) -> None:
    """One run worker in its own empty pod (deleted afterwards); its steps get pods of their own."""
    cwd, pod_env = new_pod(scratch, f"run-{job}", instance_yaml, env)
    argv = [job, "--scratch", str(scratch), "--config", json.dumps(config or {})]
    argv += ["--partition", partition] if partition else []
    log = scratch / f"{cwd.parent.name}.log"
    pod = Pod(env[NODE_ENV], "tests.support.step_pods", argv, str(cwd), pod_env, str(log))
    rc = pod.wait(timeout=300)
    close_pod(cwd, None, None, pod.pid, rc)
    if rc != 0:
        steps = "".join(p.read_text()[-3000:] for p in sorted(scratch.glob("step-*.log")))
        raise AssertionError(f"{job} {partition} failed: {log.read_text()[-5000:]}\n{steps}")


def _pods(scratch: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (scratch / POD_LOG).read_text().splitlines()]


def _serve_realtime(scratch: Path, env: dict[str, str],
                    mlflow_url: str) -> tuple[subprocess.Popen[str], str]:
    cwd, pod_env = new_pod(scratch, "realtime", "", env)
    port = free_port()
    pod_env.update({"REALTIME_API_KEY": API_KEY, "REALTIME_MLFLOW_TRACKING_URI": mlflow_url,
                    "REALTIME_DATA_DIR": pod_env["ALPHAFORGE_DATA_DIR"],
                    "REALTIME_SYMBOLS": f'["{SYMBOL}"]',
                    "REALTIME_FEED": "none", "REALTIME_LOG_LEVEL": "WARNING"})
    with open(scratch / "realtime.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "realtime.serving", "--host", "127.0.0.1", "--port",
                                 str(port)], cwd=cwd, env=pod_env, stdout=log, stderr=subprocess.STDOUT,
                                text=True)
    return proc, f"http://127.0.0.1:{port}"


def _wait_ready(proc: subprocess.Popen[str], url: str, log: Path, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"realtime exited: {log.read_text()[-3000:]}"
        try:
            r = httpx.get(f"{url}/health", timeout=2)
            if r.status_code == 200:
                return dict(r.json())
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"realtime did not start in {timeout}s: {log.read_text()[-3000:]}")


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """A folder of this test's own: pytest's numbered ones are pruned by any concurrent session,
    and the servers' stores must outlive every pod."""
    with tempfile.TemporaryDirectory(prefix="no-shared-disk-") as path:
        yield Path(path)


def test_run_pods_share_no_disk(tmp_path: Path, postgres_dsn: str, datafeed_url: str) -> None:
    require(importlib.util.find_spec("chdb") is not None, "chdb is not installed")
    admin = postgres_dsn.replace("postgresql+psycopg2://", "postgresql://")
    scratch = tmp_path / "pods"
    scratch.mkdir()
    (tmp_path / "mlflow").mkdir()
    with throwaway_database(admin) as dagster_db, throwaway_database(admin) as mlflow_db, \
            clickhouse_http_server(tmp_path / "clickhouse", password="ch-pw") as ch_url, \
            mlflow_server(mlflow_db, tmp_path / "mlflow" / "artifacts") as mlflow_url:
        pods_yaml = instance_yaml(dagster_db)  # what every pod's DAGSTER_HOME reads
        env = _production_env(ch_url, mlflow_url, datafeed_url)
        (tmp_path / "node").mkdir()
        with pod_node(tmp_path / "node", env, PRELOAD) as node:
            env[NODE_ENV] = node
            for day in FIXTURE_DAYS:
                _run_pod(scratch, pods_yaml, env, "ingest", f"{day.isoformat()}|{SYMBOL}")
            _run_pod(scratch, pods_yaml, env, "train",
                     config={"ops": {"promotion": {"config": LENIENT_GATE}}})

        # Every step of every run succeeded in a pod of its own, which is gone now.
        with dagster_home(tmp_path / "observer", dagster_db) as instance:
            runs = {r.run_id: r for r in instance.get_runs()}
            executed = {run_id: {s.step_key for s in instance.get_run_step_stats(run_id)
                                 if s.status == StepEventStatus.SUCCESS} for run_id in runs}
        assert sorted(r.job_name for r in runs.values()) == ["ingest", "ingest", "train"]
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs.values())
        steps = [p for p in _pods(scratch) if p["step"]]
        in_pods: dict[str, set[str]] = {}
        for p in steps:
            assert p["rc"] == 0, p
            in_pods.setdefault(p["run_id"], set()).add(p["step"])
        assert in_pods == executed
        for run_id, run in runs.items():
            wanted = INGEST_STEPS if run.job_name == "ingest" else TRAIN_STEPS
            assert executed[run_id] >= wanted, run.job_name
        assert len({p["pod"] for p in steps}) == len({p["pid"] for p in steps}) == len(steps)
        assert [p.name for p in scratch.iterdir() if p.is_dir()] == [], "a pod folder outlived its step"

        # The store has what the pods wrote: bars of both days and the training set's window.
        store = ClickHouseStore(ch_url, database="market")
        assert store.days("features", SYMBOL) == FIXTURE_DAYS
        bars = store.read_bars(SYMBOL, FIXTURE_DAYS[0], FIXTURE_DAYS[-1])
        handed_on = store.read_rows("dagster_io")
        assert {"training-set", "signal-model-logreg", "model-evaluation"} <= set(handed_on["asset"])

        # The model went through the MLflow server into the server's own artifact store.
        client = MlflowClient(mlflow_url)
        champion = client.get_model_version_by_alias(MODEL, "champion")
        assert client.get_run(str(champion.run_id)).info.artifact_uri.startswith("mlflow-artifacts:")
        assert any((tmp_path / "mlflow" / "artifacts").rglob("MLmodel"))

        # The realtime tier, in a fresh pod, warms up from the store and serves that version.
        proc, url = _serve_realtime(scratch, env, mlflow_url)
        try:
            health = _wait_ready(proc, url, scratch / "realtime.log")
            signal = httpx.get(f"{url}/api/v1/signals/{SYMBOL}", headers={"X-API-Key": API_KEY}, timeout=10)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        store.close()
    assert health["model_version"] == champion.version and health["model_alias"] == "champion"
    assert signal.status_code == 200, signal.text
    body = signal.json()
    assert body["model_version"] == champion.version
    newest = bars["ts"].max() if "ts" in bars else bars.index.max()
    assert body["features_ts"].startswith(newest.strftime("%Y-%m-%dT%H:%M")), (body, newest)
