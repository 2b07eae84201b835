"""`make demo`'s main job, run as a user would: a subprocess on a fresh data dir."""

import os
import subprocess
import sys

from tests.conftest import REPO


def _demo(tmp_path, *args, **env):
    full_env = {**os.environ, "ALPHAFORGE_DATA_DIR": str(tmp_path), **env}
    full_env.pop("DAGSTER_HOME", None)
    return subprocess.run([sys.executable, "-m", "cli.demo", *args], cwd=REPO,
                          env=full_env, capture_output=True, text=True, timeout=600)


def test_demo_against_a_local_mirror(tmp_path, datafeed_url):
    proc = _demo(tmp_path, "--symbols", "EURUSD", "--start", "2019-02-04", "--end", "2019-02-05",
                 ALPHAFORGE_DUKASCOPY_URL=datafeed_url)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ingested EURUSD 2019-02-05" in proc.stdout
    assert "make dev" in proc.stdout and "make mlflow" in proc.stdout and "make serve" in proc.stdout
    assert (tmp_path / "lake" / "bars_1m" / "symbol=EURUSD" / "date=2019-02-05" / "part.parquet").exists()
    assert any((tmp_path / "dagster_home").iterdir())  # the runs are in the UI's instance


def test_demo_synthetic_runs_offline(tmp_path):
    proc = _demo(tmp_path, "--source", "synthetic", "--symbols", "EURUSD,GBPJPY",
                 "--start", "2024-03-04", "--end", "2024-03-05",
                 ALPHAFORGE_DUKASCOPY_URL="http://127.0.0.1:9",  # would fail if it were used
                 ALPHAFORGE_MODEL_FAMILIES="logreg")  # all four train in the mirror demo above
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ingested GBPJPY 2024-03-05" in proc.stdout


def test_demo_explains_an_unreachable_datafeed(tmp_path):
    proc = _demo(tmp_path, "--start", "2019-02-04", "--end", "2019-02-04",
                 ALPHAFORGE_DUKASCOPY_URL="http://127.0.0.1:9")  # nothing listens on port 9
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "could not be reached" in proc.stderr and "make demo SOURCE=synthetic" in proc.stderr
