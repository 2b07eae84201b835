"""The realtime service starts without loading what only the batch side needs: the numba backtest
engine, and torch even when it serves a torch model."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from ml.registry import load_registered
from tests.conftest import REPO
from tests.realtime.conftest import MODEL, register_model


def test_importing_the_service_leaves_the_numba_backtest_engine_unloaded():
    code = "import sys, realtime.main; print(sorted(m for m in ('numba', 'llvmlite') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


SERVE_CHAMPION = """
import json, sys
import numpy as np
from realtime.inference.model import can_predict, load_serving
loaded = load_serving(sys.argv[1], sys.argv[2], "champion", False)
probs = [loaded.model.predict_row(x) for x in np.load(sys.argv[3])]
print(json.dumps({"ready": can_predict(loaded), "torch": "torch" in sys.modules, "probs": probs}))
"""


def test_a_torch_champion_is_served_without_importing_torch(rt_dir: Path, tmp_path: Path):
    (tmp_path / "lake").symlink_to(rt_dir / "lake")  # rt_dir's bars; this test's own registry
    register_model(tmp_path, family="mlp")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    model = load_registered(uri, MODEL, alias="champion").model
    rows = np.random.default_rng(3).normal(size=(30, len(model.columns)))
    np.save(tmp_path / "rows.npy", rows)
    out = subprocess.run([sys.executable, "-c", SERVE_CHAMPION, uri, MODEL, str(tmp_path / "rows.npy")],
                         cwd=REPO, capture_output=True, text=True, check=True)
    served = json.loads(out.stdout.strip().splitlines()[-1])
    assert served["ready"] is True and served["torch"] is False
    # the batch path runs the torch network: the served numpy forward gives its probabilities
    np.testing.assert_allclose(served["probs"], model.classifier.predict_proba(rows), rtol=0, atol=1e-6)
