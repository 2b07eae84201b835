"""Benchmark ``train_scale``: the four model families on a synthetic symbol-year of 1-minute bars.

A fresh Parquet lake gets 261 weekdays x 1,440 bars (375,840 bars, one symbol-year) and their
features (tests/support/synthetic_bars.py). Then, per family, a fresh interpreter (so that its
peak RSS is its own) reads the training window through the store (``ml.dataset.training_frame``,
the bounded read the training asset uses) and fits the family on it (``ml.training.fit_classifier``:
the early-stopping split and the fit, without cross-validation or MLflow).
One JSON line per family: value = bars/s of the fit; baseline = bars/s of only reading the
window from the store in the same process; ratio = value / baseline (below 1: the fit, not the
read, dominates); peak_rss_mb = the interpreter's peak resident memory (imports included).
To keep the whole benchmark to a few minutes the torch families train for ``TORCH_EPOCHS``
epoch(s) instead of up to 50 with early stopping, and the TCN on the last 10 days of the year
(``rows_trained`` says how many); logreg and lgbm train as configured.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from marketdata.store import ParquetStore  # noqa: E402
from ml.dataset import training_frame  # noqa: E402
from ml.features import DEFAULT_FEATURE_SET  # noqa: E402
from ml.training import TrainConfig, fit_classifier  # noqa: E402
from tests.support.synthetic_bars import fill_store, weekdays  # noqa: E402

SYMBOL, HORIZON = "EURUSD", 15
FAMILIES = ("logreg", "lgbm", "mlp", "tcn")
DAYS = weekdays(dt.date(2023, 1, 2), 261)
TORCH_EPOCHS = 1
# The TCN (a window of 32 bars per row) runs on the CPU here at a few hundred bars/s: it trains
# on the window's last 10 days (the training read's own cap), the others on the whole year.
MAX_ROWS = {"tcn": 10 * 1440}
PARAMS: dict[str, dict[str, object]] = {"mlp": {"max_epochs": TORCH_EPOCHS},
                                        "tcn": {"max_epochs": TORCH_EPOCHS}}


def one_family(family: str, lake: str) -> dict[str, object]:
    """Read the window and fit ``family`` on it, in this process; the figures as a dict."""
    store = ParquetStore(lake)
    t0 = time.perf_counter()
    frame = training_frame(store, [SYMBOL], DAYS[0], DAYS[-1], DEFAULT_FEATURE_SET, HORIZON,
                           max_rows_per_symbol=MAX_ROWS.get(family, len(DAYS) * 1440))
    read_s = time.perf_counter() - t0
    cfg = TrainConfig(family=family, horizon=HORIZON, params=PARAMS.get(family, {}))
    t0 = time.perf_counter()
    fit_classifier(frame, DEFAULT_FEATURE_SET, cfg)
    fit_s = time.perf_counter() - t0
    return {"rows": len(frame), "read_s": read_s, "fit_s": fit_s,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    """Build the symbol-year, then print one JSON line per family."""
    with tempfile.TemporaryDirectory() as lake:
        t0 = time.perf_counter()
        n_bars = fill_store(ParquetStore(lake), SYMBOL, DAYS, DEFAULT_FEATURE_SET)
        build_s = time.perf_counter() - t0
        for family in FAMILIES:
            out = subprocess.run([sys.executable, __file__, family, lake], check=True, capture_output=True,
                                 text=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            value, baseline = r["rows"] / r["fit_s"], r["rows"] / r["read_s"]
            print(json.dumps({
                "name": f"train_scale_{family}", "value": round(value), "unit": "bars/s",
                "baseline": round(baseline), "ratio": round(value / baseline, 4),
                "peak_rss_mb": round(r["peak_rss_mb"]), "bars_stored": n_bars, "rows_trained": r["rows"],
                "fit_seconds": round(r["fit_s"], 2), "read_seconds": round(r["read_s"], 2),
                "dominant": "fit" if r["fit_s"] > r["read_s"] else "read",
                "epochs": TORCH_EPOCHS if family in PARAMS else "as configured",
                "store_build_seconds": round(build_s, 1), "load_avg": round(os.getloadavg()[0], 2),
            }), flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 3:
        print(json.dumps(one_family(sys.argv[1], sys.argv[2])))
    else:
        main()
