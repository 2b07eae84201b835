"""The realtime service starts without loading what only the batch side needs."""

import subprocess
import sys

from tests.conftest import REPO


def test_importing_the_service_leaves_the_numba_backtest_engine_unloaded():
    code = "import sys, realtime.main; print(sorted(m for m in ('numba', 'llvmlite') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
