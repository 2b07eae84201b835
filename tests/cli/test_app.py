"""The `alphaforge` CLI as a user runs it: ``python -m cli`` (what the installed ``alphaforge``
script runs) on a fresh data dir, and the typer app in process for help texts and input errors
(which fail before anything runs)."""

import os
import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from cli.app import app
from tests.conftest import REPO

COMMANDS = ["ingest", "inspect", "train", "backtest", "optimise", "promote", "serve", "demo"]
SUMMARIES = {
    ("ingest",): "Download ticks and build bars and features for a date range.",
    ("inspect",): "Decode a Dukascopy .bi5 file to CSV on stdout.",
    ("train",): "Fit each model family, evaluate out of sample, promote the best.",
    ("backtest",): "Backtest a strategy on a bars file or on a symbol's stored bars; print trades and "
                   "metrics, optionally write an HTML tearsheet.",
    ("backtest", "sma-cross"): "SMA crossover of the close; orders fill at the next bar's open.",
    ("optimise",): "Walk-forward parameter search of the SMA-cross strategy.",
    ("promote",): "Evaluate one registered model version; promote it if it passes.",
    ("serve",): "The realtime API (signals, orders) on http://127.0.0.1:8000.",
    ("demo",): "The whole pipeline on a few days (same as make demo).",
}
ALPHAFORGE = [sys.executable, "-m", "cli"]  # the pyproject entry point's module


def _cli(tmp_path, *args, **env):
    full_env = {**os.environ, "ALPHAFORGE_DATA_DIR": str(tmp_path), **env}
    full_env.pop("DAGSTER_HOME", None)
    return subprocess.run([*ALPHAFORGE, *args], cwd=REPO, env=full_env,
                          capture_output=True, text=True, timeout=600)


def _invoke(*args, **env):
    return CliRunner().invoke(app, list(args), env=env)


def _one_line_error(proc, command):
    stderr = proc.stderr.strip()
    assert stderr.startswith(f"alphaforge {command}: error: "), stderr
    assert len(stderr.splitlines()) == 1 and "Traceback" not in stderr
    return stderr


def test_help_lists_every_command_with_a_first_session(tmp_path):
    proc = _cli(tmp_path, "--help")
    assert proc.returncode == 0, proc.stderr
    listed = re.findall(r"^\W*([a-z][a-z-]+)\s{2,}\S", proc.stdout, flags=re.MULTILINE)
    assert sorted(c for c in listed if c in COMMANDS) == sorted(COMMANDS)
    assert "alphaforge demo --source synthetic" in proc.stdout
    for step in ("ingest", "train", "promote", "backtest", "optimise", "serve"):
        assert step in proc.stdout.split("The usual order:")[1], step


def test_no_arguments_shows_the_help():
    result = _invoke()
    assert result.exit_code != 0 and "Usage: alphaforge" in result.output
    assert "Pipeline, in the usual order" in result.output


@pytest.mark.parametrize("command", sorted(SUMMARIES), ids=" ".join)
def test_every_command_has_a_help_with_its_summary(command):
    result = _invoke(*command, "--help")
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert SUMMARIES[command] in text
    assert f"Usage: alphaforge {' '.join(command)}" in text
    assert "-h" in text  # -h works as well as --help


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
    _one_line_error(proc, "ingest")


@pytest.mark.parametrize(("args", "message"), [
    (["ingest", "--start", "2024-13-01", "--end", "2024-03-01"], "--start '2024-13-01' is not a date"),
    (["ingest", "--start", "2024-03-01", "--end", "2024/03/02"], "--end '2024/03/02' is not a date"),
    (["train", "--start", "last monday"], "--start 'last monday' is not a date"),
    (["promote", "3", "--oos-start", "2024-02-30"], "--oos-start '2024-02-30' is not a date"),
    (["demo", "--start", "2019-02-05", "--end", "2019-02-04"], "--end 2019-02-04 is before --start"),
    (["ingest", "--symbols", "EURUSD,EURUSX", "--start", "2024-03-01", "--end", "2024-03-01"],
     "unknown symbol 'EURUSX'; did you mean EURUSD"),
    (["optimise", "--symbol", "GBPJPX"], "unknown symbol 'GBPJPX'; did you mean GBPJPY"),
])
def test_bad_input_exits_with_one_line(tmp_path, args, message):
    result = _invoke(*args, ALPHAFORGE_DATA_DIR=str(tmp_path))
    assert result.exit_code == 1
    assert message in _one_line_error(result, args[0])
    assert result.stdout == ""


@pytest.mark.parametrize(("args", "message"), [
    (["promote", "three"], "Invalid value for 'version'"),
    (["ingest", "--start", "2024-03-01", "--end", "2024-03-01", "--source", "yahoo"],
     "Invalid value for '--source'"),
    (["optimise", "--method", "random"], "Invalid value for '--method'"),
    (["ingest", "--end", "2024-03-01"], "Missing option '--start'"),
    (["fly"], "No such command 'fly'"),
])
def test_malformed_command_lines_are_usage_errors(args, message):
    result = _invoke(*args)
    assert result.exit_code == 2 and message in " ".join(result.stderr.split())
    assert "Traceback" not in result.output


def test_serve_without_a_key_says_what_to_set(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "REALTIME_API_KEY"}
    proc = subprocess.run([*ALPHAFORGE, "serve"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "REALTIME_API_KEY" in proc.stderr
    _one_line_error(proc, "serve")


def test_demo_forwards_to_the_demo_and_explains_an_unreachable_datafeed(tmp_path):
    proc = _cli(tmp_path, "demo", "--start", "2019-02-04", "--end", "2019-02-04",
                ALPHAFORGE_DUKASCOPY_URL="http://127.0.0.1:9")  # nothing listens on port 9
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "could not be reached" in proc.stderr and "make demo SOURCE=synthetic" in proc.stderr
