"""Walk-forward evaluation of one parameter set, and walk-forward selection across many.

A candidate is backtested once over the whole history (its signal is causal: bar t uses data up
to t's close only) and its per-bar equity returns are cut into rolling folds: ``train_bars``
in-sample, then the next ``test_bars`` out-of-sample, rolled forward by ``test_bars``. Selection
picks, in each fold, the candidate with the best in-sample Sharpe and keeps only its
out-of-sample returns, so the walk-forward result never sees its own test data.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from marketdata.instruments import Instrument
from ml.backtest import CostModel, run_backtest
from ml.backtest.bars import load_bars
from ml.backtest.metrics import bars_per_year, sharpe_ratio
from ml.backtest.strategies import sma_cross_signal
from ml.errors import MLError
from ml.policy import TradingPolicy


class OptimizationError(MLError, ValueError):
    """Bad search settings: empty grids, too little data for one fold, unknown strategies."""


def _sma_cross(bars: pd.DataFrame, fast: int, slow: int, long_only: bool = False) -> np.ndarray:
    return sma_cross_signal(load_bars(bars).mid_close, int(fast), int(slow), long_only=long_only)


# name -> (signal function of (bars, **params), validity check of params)
STRATEGIES: dict[str, tuple[Callable[..., np.ndarray], Callable[[dict[str, Any]], bool]]] = {
    "sma_cross": (_sma_cross, lambda p: int(p["fast"]) < int(p["slow"])),
}


@dataclass(frozen=True)
class WalkForward:
    """Fold geometry in bars: in-sample length, out-of-sample length (also the roll step)."""

    train_bars: int
    test_bars: int

    def folds(self, n: int) -> list[tuple[slice, slice]]:
        """(in-sample, out-of-sample) slices of returns; raises if not even one fold fits."""
        if self.train_bars < 2 or self.test_bars < 2:
            raise OptimizationError("train_bars and test_bars must be >= 2")
        out = []
        start = 0
        while start + self.train_bars + self.test_bars <= n:
            mid = start + self.train_bars
            out.append((slice(start, mid), slice(mid, mid + self.test_bars)))
            start += self.test_bars
        if not out:
            raise OptimizationError(
                f"{n} bars are too few for one fold of {self.train_bars}+{self.test_bars}")
        return out


@dataclass
class CandidateResult:
    """One parameter set evaluated walk-forward."""

    params: dict[str, Any]
    is_sharpe: list[float]
    oos_sharpe: list[float]
    returns: np.ndarray  # per-bar returns over the whole history
    trade_pnls: np.ndarray
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def score(self) -> float:
        """The in-sample objective: mean in-sample Sharpe over the folds (NaN counts as 0)."""
        return float(np.mean(np.nan_to_num(self.is_sharpe)))

    @property
    def oos_score(self) -> float:
        """Mean out-of-sample Sharpe over the folds (reported, never optimised)."""
        return float(np.mean(np.nan_to_num(self.oos_sharpe)))


def evaluate_candidate(bars: pd.DataFrame, strategy: str, params: dict[str, Any],
                       instrument: Instrument, costs: CostModel, wf: WalkForward,
                       backtest_kwargs: dict[str, Any] | None = None,
                       policy: TradingPolicy | None = None) -> CandidateResult:
    """Backtest ``params`` once, trading the signal through ``policy`` (the default
    :class:`TradingPolicy`), and score each fold in and out of sample."""
    try:
        signal_fn, _valid = STRATEGIES[strategy]
    except KeyError:
        raise OptimizationError(f"unknown strategy {strategy!r}; known: {sorted(STRATEGIES)}") from None
    policy = policy or TradingPolicy()
    signal = policy.targets(signal_fn(bars, **params))
    extra = backtest_kwargs or {}
    own = policy.backtest_kwargs(instrument)
    if extra.keys() & {"units", "fraction", "all_in", "vol_target"}:  # the caller sizes
        own = {k: v for k, v in own.items() if k not in ("units", "fraction")}
    kwargs = {"cash": 100_000.0, **own, **extra}
    res = run_backtest(bars, signal, instrument, costs, **kwargs)
    eq = res.equity.to_numpy()
    returns = np.diff(eq, prepend=kwargs["cash"]) / np.r_[kwargs["cash"], eq[:-1]]
    ppy = bars_per_year(res.equity.index)
    ppy = ppy if math.isfinite(ppy) else 252.0
    is_s, oos_s = [], []
    for train, test in wf.folds(len(returns)):
        is_s.append(sharpe_ratio(returns[train], ppy))
        oos_s.append(sharpe_ratio(returns[test], ppy))
    return CandidateResult(params=dict(params), is_sharpe=is_s, oos_sharpe=oos_s, returns=returns,
                           trade_pnls=res.trades["pnl"].to_numpy(), metrics=res.metrics)


def walk_forward_selection(results: list[CandidateResult], wf: WalkForward) -> dict[str, Any]:
    """Per fold, the in-sample best candidate and its out-of-sample returns, stitched together."""
    n = len(results[0].returns)
    chosen, oos = [], []
    for k, (_train, test) in enumerate(wf.folds(n)):
        best = max(range(len(results)), key=lambda i: np.nan_to_num(results[i].is_sharpe[k]))
        chosen.append(results[best].params)
        oos.append(results[best].returns[test])
    return {"fold_params": chosen, "oos_returns": np.concatenate(oos)}
