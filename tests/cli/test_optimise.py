"""``alphaforge optimise`` on the store's bars: a date range, and walk-forward windows sized to
the data (two days of 1-minute bars are fewer than the default 5000 + 1000 fold) or set by options."""

import os
import subprocess
import sys

import pytest

from cli.commands import windows
from cli.errors import InputError
from tests.conftest import REPO


def _cli(tmp_path, *args):
    env = {**os.environ, "ALPHAFORGE_DATA_DIR": str(tmp_path)}
    for name in ("DAGSTER_HOME", "MLFLOW_TRACKING_URI"):
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)


def test_windows_keep_the_default_fold_when_it_fits_and_shrink_when_not():
    assert windows(10_000) == (5_000, 1_000)
    assert windows(2_880) == (1_440, 720)  # two days of 1-minute bars: two folds
    assert windows(2_880, train_bars=2_000, test_bars=500) == (2_000, 500)
    with pytest.raises(InputError, match="2880 stored bars are too few for one fold of 3000"):
        windows(2_880, train_bars=3_000)


def test_optimise_on_an_empty_store_says_to_ingest(tmp_path):
    proc = _cli(tmp_path, "optimise")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("alphaforge optimise: error: no 1-minute bars of EURUSD")
    assert "alphaforge ingest --symbols EURUSD" in lines[0]


def test_optimise_runs_on_the_demos_two_days(tmp_path):
    ingest = _cli(tmp_path, "ingest", "--source", "synthetic", "--start", "2024-03-04", "--end", "2024-03-05")
    assert ingest.returncode == 0, ingest.stderr[-3000:]
    proc = _cli(tmp_path, "optimise", "--start", "2024-03-04", "--end", "2024-03-05")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "optimisation done on 2880 bars (1440 in-sample + 720 out-of-sample per fold)" in proc.stdout
    # the default grid's 15 valid (fast < slow) points are the ledger's first 15 trials
    assert ("trial ledger strategy-sma_cross-EURUSD: the pick's deflated Sharpe is over its 15 trials"
            in proc.stdout)
