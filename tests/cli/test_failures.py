"""Run-time failures of the CLI end in one line on stderr that names the cause and the fix; the
traceback goes to the log only with -v. Each case runs ``python -m cli`` on a fresh data dir."""

import os
import re
import shutil
import subprocess
import sys
import time

from typer.testing import CliRunner

from cli.app import app
from realtime.settings import Settings
from tests.conftest import REPO

NOWHERE = "http://127.0.0.1:9"  # nothing listens on port 9: connection refused at once


def _cli(tmp_path, *args, timeout=600, **env):
    full_env = {**os.environ, "ALPHAFORGE_DATA_DIR": str(tmp_path), **env}
    for name in ("DAGSTER_HOME", "MLFLOW_TRACKING_URI", "REALTIME_MODEL_ALIAS"):
        full_env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=REPO, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def _one_line(proc, command):
    """The whole of stderr is one ``alphaforge COMMAND: error: ...`` line, without a traceback."""
    assert proc.returncode != 0, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr[-3000:]
    assert lines[0].startswith(f"alphaforge {command}: error: "), lines
    return lines[0]


def test_train_on_an_empty_store_says_to_ingest_first(tmp_path):
    line = _one_line(_cli(tmp_path, "train"), "train")
    assert "no features stored" in line and "alphaforge ingest" in line


def test_promote_an_unknown_version_names_it(tmp_path):
    line = _one_line(_cli(tmp_path, "promote", "99"), "promote")
    assert "version 99" in line and "not registered" in line and "alphaforge train" in line


def test_ingest_without_the_datafeed_fails_fast_with_a_mirror_hint(tmp_path):
    began = time.monotonic()
    proc = _cli(tmp_path, "ingest", "--start", "2019-02-04", "--end", "2019-02-05",
                ALPHAFORGE_DUKASCOPY_URL=NOWHERE)
    line = _one_line(proc, "ingest")
    assert time.monotonic() - began < 60
    assert "could not be reached" in line and "ALPHAFORGE_DUKASCOPY_URL" in line
    assert "--source synthetic" in line


def test_a_day_missing_from_the_mirror_is_named(tmp_path, datafeed_url):
    proc = _cli(tmp_path, "ingest", "--start", "2019-02-05", "--end", "2019-02-06",
                ALPHAFORGE_DUKASCOPY_URL=datafeed_url)
    line = _one_line(proc, "ingest")
    assert "2019-02-06|EURUSD" in line and "404" in line
    assert "1 of 2" in line and "the same command again" in line


def test_verbose_puts_the_traceback_in_the_log(tmp_path):
    proc = _cli(tmp_path, "-v", "train")
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr or "Failure" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("alphaforge train: error: ")


def test_serve_without_a_model_says_to_train(tmp_path):
    proc = _cli(tmp_path, "serve", "--port", "9", timeout=120, REALTIME_API_KEY="k7Rq2vXe9pLm4sTz",
                REALTIME_MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}")
    line = _one_line(proc, "serve")
    assert "no model" in line and "alphaforge train" in line


def test_the_serve_help_example_key_is_accepted():
    text = " ".join(CliRunner().invoke(app, ["serve", "--help"]).stdout.split())
    key = re.search(r"REALTIME_API_KEY=(\S+)", text)
    assert key is not None, text
    Settings(api_key=key.group(1))  # raises on a placeholder or a short key


def test_a_fresh_checkout_prepares_the_dbt_manifest(tmp_path):
    """The dbt assets need dbt's manifest when the definitions load: the CLI writes it."""
    repo = tmp_path / "repo"
    shutil.copytree(REPO, repo, symlinks=True,
                    ignore=shutil.ignore_patterns(".venv", "data", "target", ".git", "__pycache__", "logs"))
    env = {**os.environ, "ALPHAFORGE_DATA_DIR": str(tmp_path / "data")}
    env.pop("DAGSTER_HOME", None)
    proc = subprocess.run([sys.executable, "-m", "cli", "ingest", "--source", "synthetic",
                           "--start", "2024-03-04", "--end", "2024-03-04"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "DagsterDbtManifestNotFoundError" not in proc.stderr
    assert (repo / "dbt" / "target" / "manifest.json").exists()
