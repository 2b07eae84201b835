"""Benchmark ``gate_false_positives``: how often a registry of zero-skill models gets a champion.

Each simulated registry retrains 20 times; every retrain evaluates 4 candidates (model families)
on 2 days of 1-minute out-of-sample bars. A candidate has no skill by construction: its position
(+1/-1/0, held ~30 bars) is drawn independently of the fat-tailed (Student-t) market returns.
The best candidate by Sharpe meets the promotion gate; the registry counts as a false positive
when any retrain promotes. Plain functions and synthetic returns, not the Dagster pipeline.

* ours: ``PromotionGate()`` with the DSR deflated by the trial ledger's cumulative total (and
  the ledger's Sharpe variance), PSR and MinTRL;
* baseline: the earlier gate, run in the same simulation: min Sharpe 0.5, 20 trades, DSR
  deflated by the 4 candidates of the current retrain only.

Prints one JSON line {"name","value","unit","baseline","ratio"}; ratio = ours / baseline.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd

from ml.gate_figures import return_figures
from ml.registry import PromotionGate
from ml.trials import per_bar_sharpe

REGISTRIES = 200
RETRAINS = 20
CANDIDATES = 4
BARS = 2 * 1440
HOLD = 30
OLD_GATE = PromotionGate(min_sharpe=0.5, max_drawdown=0.10, min_trades=20, min_dsr=0.95, min_psr=0.0,
                         require_track_record=False, require_lookahead_check=False)
INDEX = pd.date_range("2024-01-02", periods=BARS + 1, freq="1min", tz="UTC")[1:]


def zero_skill_returns(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(per-bar strategy returns, number of trades) of CANDIDATES zero-skill candidates."""
    market = rng.standard_t(4, size=BARS) * 1e-4 / np.sqrt(2.0)  # unit-variance t(4), 1 bp per bar
    blocks = rng.choice([-1.0, 0.0, 1.0], size=(CANDIDATES, BARS // HOLD + 1), p=[0.4, 0.2, 0.4])
    pos = np.repeat(blocks, HOLD, axis=1)[:, :BARS]
    trades = (np.diff(pos, axis=1) != 0).sum(axis=1) + (pos[:, 0] != 0)
    return pos * market, trades


def metrics(r: np.ndarray, trades: int, n_trials: int, sr_variance: float | None) -> dict[str, float]:
    """The gate's figures for one candidate's returns."""
    figures = return_figures(pd.Series(r, index=INDEX), n_trials, sr_variance, bootstrap=0)
    equity = np.cumprod(1 + r)
    peak = np.maximum.accumulate(np.maximum(equity, 1.0))
    return {**figures, "max_drawdown": float((1 - equity / peak).max()), "n_trades": float(trades),
            "lookahead_changes": 0.0}


def run(seed: int = 11) -> tuple[float, float]:
    """(ours, baseline): the share of registries that ever promoted a zero-skill model, in %."""
    rng = np.random.default_rng(seed)
    ours = baseline = 0
    for _ in range(REGISTRIES):
        ledger: list[float] = []
        promoted_ours = promoted_old = False
        for _ in range(RETRAINS):
            rets, trades = zero_skill_returns(rng)
            srs = [per_bar_sharpe(r) for r in rets]
            ledger += srs
            best = int(np.nanargmax(srs))
            if not promoted_old:
                promoted_old = not OLD_GATE.failures(metrics(rets[best], trades[best], CANDIDATES, None))
            if not promoted_ours:
                var = float(np.var(ledger, ddof=1))
                figures = metrics(rets[best], trades[best], len(ledger), var)
                promoted_ours = not PromotionGate().failures(figures)
        ours += promoted_ours
        baseline += promoted_old
    return 100.0 * ours / REGISTRIES, 100.0 * baseline / REGISTRIES


def main() -> None:
    """Print the benchmark line."""
    t0 = time.perf_counter()
    ours, baseline = run()
    print(json.dumps({"name": "gate_false_positives", "value": round(ours, 2),
                      "unit": "% of zero-skill candidates promoted", "baseline": round(baseline, 2),
                      "ratio": round(ours / baseline, 3) if baseline else None,
                      "registries": REGISTRIES, "retrains": RETRAINS, "candidates_per_retrain": CANDIDATES,
                      "oos_bars": BARS, "seconds": round(time.perf_counter() - t0, 1)}))


if __name__ == "__main__":
    main()
