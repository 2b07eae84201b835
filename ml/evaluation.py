"""Out-of-sample evaluation: the model's signals through the backtest engine, with real costs."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from marketdata.instruments import get_instrument
from ml.backtest import BacktestResult, CostModel, run_backtest
from ml.dataset import FeatureStore
from ml.models import SignalModel, signal_from_prob


@dataclass(frozen=True)
class EvaluationConfig:
    """Costs and sizing of the out-of-sample backtest."""

    commission_per_lot: float = 3.5  # account currency per lot per side (a typical ECN rate)
    slippage_spread_frac: float = 0.1
    cash: float = 100_000.0
    fraction: float = 1.0


def signals_for_bars(model: SignalModel, bars: pd.DataFrame, feats: pd.DataFrame) -> np.ndarray:
    """One signal per bar: the model's view at that bar's close; flat where features are missing."""
    rows = feats.dropna(subset=model.columns)
    rows = rows[np.isfinite(rows[model.columns]).all(axis=1)]
    signal = pd.Series(0, index=pd.DatetimeIndex(bars["ts"]), dtype=np.int64)
    if len(rows):
        prob = model.pipeline.predict_proba(rows[model.columns])[:, 1]
        predicted = pd.Series(signal_from_prob(prob, model.threshold), index=pd.DatetimeIndex(rows["ts"]))
        signal.update(predicted.reindex(signal.index).dropna())
    return signal.to_numpy(dtype=np.int64)


def evaluate_oos(model: SignalModel, store: FeatureStore, symbols: list[str], start: pd.Timestamp,
                 end: dt.date, cfg: EvaluationConfig) -> tuple[dict[str, float], dict[str, BacktestResult]]:
    """Backtest every symbol from ``start`` (the first out-of-sample bar) to ``end``.

    Returns pooled metrics (mean Sharpe, worst drawdown, total trades and P&L) and the
    per-symbol results.
    """
    costs = CostModel(commission_per_lot=cfg.commission_per_lot,
                      slippage_spread_frac=cfg.slippage_spread_frac)
    results: dict[str, BacktestResult] = {}
    for symbol in symbols:
        bars = store.read_bars(symbol, start.date(), end)
        bars = bars[bars["ts"] >= start].reset_index(drop=True)
        if len(bars) < 2:
            continue
        feats = store.read_features(symbol, start.date(), end)
        signal = signals_for_bars(model, bars, feats)
        results[symbol] = run_backtest(bars, signal, get_instrument(symbol), costs,
                                       cash=cfg.cash, fraction=cfg.fraction)
    return pooled_metrics(results), results


def pooled_metrics(results: dict[str, BacktestResult]) -> dict[str, float]:
    """Figures across symbols: the promotion gate reads these."""
    if not results:
        return {"sharpe": math.nan, "max_drawdown": math.nan, "n_trades": 0.0, "total_pnl": 0.0}
    sharpes = [r.metrics["sharpe"] for r in results.values()]
    return {
        "sharpe": float(np.nanmean(sharpes)) if any(s == s for s in sharpes) else math.nan,
        "max_drawdown": float(max(r.metrics["max_drawdown"] for r in results.values())),
        "n_trades": float(sum(r.metrics["n_trades"] for r in results.values())),
        "total_pnl": float(sum(r.trades["pnl"].sum() for r in results.values())),
        "total_return": float(np.mean([r.metrics["total_return"] for r in results.values()])),
    }
