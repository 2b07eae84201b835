"""The `alphaforge` CLI as a user runs it: a subprocess on a fresh data dir."""

import os
import subprocess
import sys

from tests.conftest import REPO

COMMANDS = ["ingest", "inspect", "train", "backtest", "optimise", "promote", "serve", "demo"]


def _cli(tmp_path, *args, **env):
    full_env = {**os.environ, "ALPHAFORGE_DATA_DIR": str(tmp_path), **env}
    full_env.pop("DAGSTER_HOME", None)
    return subprocess.run([sys.executable, "-m", "orchestration.cli", *args], cwd=REPO, env=full_env,
                          capture_output=True, text=True, timeout=600)


def test_help_lists_every_command_with_a_first_session(tmp_path):
    proc = _cli(tmp_path, "--help")
    assert proc.returncode == 0
    for command in COMMANDS:
        assert f"    {command} " in proc.stdout, command
    assert "alphaforge demo --source synthetic" in proc.stdout


def test_ingest_runs_partitions_and_resumes(tmp_path):
    args = ("ingest", "--source", "synthetic", "--symbols", "EURUSD", "--start", "2024-03-04",
            "--end", "2024-03-05")
    first = _cli(tmp_path, *args)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "2 ingested, 0 already there, 0 failed" in first.stdout
    assert (tmp_path / "lake" / "features" / "symbol=EURUSD").exists()
    again = _cli(tmp_path, *args)
    assert "0 ingested, 2 already there, 0 failed" in again.stdout


def test_bad_dates_are_explained(tmp_path):
    proc = _cli(tmp_path, "ingest", "--start", "2024-03-05", "--end", "2024-03-01")
    assert proc.returncode != 0 and "before --start" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_serve_without_a_key_says_what_to_set(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "REALTIME_API_KEY"}
    proc = subprocess.run([sys.executable, "-m", "orchestration.cli", "serve"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "REALTIME_API_KEY" in proc.stderr
