"""Out-of-sample evaluation: the model's signals through the backtest engine, with real costs."""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from marketdata.instruments import get_instrument
from marketdata.store import MarketStore
from marketdata.tables import BACKTEST_EQUITY, BACKTEST_TRADES
from ml.backtest import BacktestError, BacktestResult, CostModel, run_backtest
from ml.costs.currency import fx_symbol
from ml.gate_figures import portfolio_returns, return_figures
from ml.lookahead import lookahead_changes
from ml.models import SignalModel, signals_for_bars
from ml.policy import TradingPolicy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvaluationConfig:
    """Costs and sizing of the out-of-sample backtest."""

    commission_per_lot: float = 3.5  # account currency per lot per side (a typical ECN rate)
    slippage_spread_frac: float = 0.1
    cash: float = 100_000.0
    fraction: float = 1.0
    account_currency: str = "USD"  # every money figure, converted at each bar's rate
    lookahead_check: bool = True
    policy: TradingPolicy | None = None  # None: TradingPolicy(fraction=fraction)

    def trading_policy(self) -> TradingPolicy:
        """The policy the evaluation trades, the one the live auto-trader uses too."""
        return self.policy or TradingPolicy(fraction=self.fraction)


def evaluate_oos(model: SignalModel, store: MarketStore, symbols: list[str], start: pd.Timestamp,
                 end: dt.date, cfg: EvaluationConfig, n_trials: int = 1,
                 sr_variance: float | None = None) -> tuple[dict[str, float], dict[str, BacktestResult]]:
    """Backtest every symbol from ``start`` (the first out-of-sample bar) to ``end``.

    Features come from stored days from ``start``'s day, so the first out-of-sample bars keep
    their warm-up. Returns pooled figures (for the promotion gate) and per-symbol results.
    ``n_trials`` and ``sr_variance`` (from the trial ledger) deflate the Sharpe; with
    ``cfg.lookahead_check`` the figures hold ``lookahead_changes`` (see :mod:`ml.lookahead`).
    """
    costs = CostModel(commission_per_lot=cfg.commission_per_lot,
                      slippage_spread_frac=cfg.slippage_spread_frac,
                      account_currency=cfg.account_currency)
    results: dict[str, BacktestResult] = {}
    changes = 0
    for symbol in symbols:
        bars = store.read_bars(symbol, start.date(), end)
        bars = bars[bars["ts"] >= start].reset_index(drop=True)
        if len(bars) < 2:
            continue
        feats = store.read_features(symbol, start.date(), end)
        signal = signals_for_bars(model, symbol, bars, feats)
        inst = get_instrument(symbol)
        cross = fx_symbol(inst, cfg.account_currency)  # GBPJPY in USD converts through USDJPY
        fx_bars = store.read_bars(cross, start.date(), end) if cross else None
        if fx_bars is not None and fx_bars.empty:  # never book another currency as this one
            log.warning("%s left out of the evaluation: its money is in %s and no %s bars are "
                        "stored to convert it to %s (ingest %s)", symbol, inst.symbol[-3:], cross,
                        cfg.account_currency, cross)
            continue
        policy = cfg.trading_policy()
        results[symbol] = run_backtest(bars, policy.targets(signal), inst, costs, cash=cfg.cash,
                                       fx_bars=fx_bars, **policy.backtest_kwargs(inst))
        if cfg.lookahead_check:
            changes += lookahead_changes(model, symbol, store.read_bars(symbol, start.date(), end))
    metrics = pooled_metrics(results, n_trials, sr_variance)
    if cfg.lookahead_check:
        metrics["lookahead_changes"] = float(changes)
    return metrics, results


def pooled_metrics(results: dict[str, BacktestResult], n_trials: int = 1,
                   sr_variance: float | None = None) -> dict[str, float]:
    """Figures across symbols for the gate: the equal-weight portfolio's Sharpe (annualised in
    trading time), DSR deflated by ``n_trials`` candidates, PSR, MinTRL and bootstrap intervals;
    the worst symbol's drawdown; total trades and P&L. Money is pooled only within one account
    currency."""
    currencies = {r.currency for r in results.values()}
    if len(currencies) > 1:
        raise BacktestError(f"cannot pool results in different currencies: {sorted(currencies)}")
    if not results:
        return {"sharpe": math.nan, "max_drawdown": math.nan, "n_trades": 0.0, "total_pnl": 0.0,
                "dsr": math.nan, "psr": math.nan, "min_trl": math.inf, "n_bars": 0.0,
                "n_trials": float(max(1, n_trials))}
    returns = portfolio_returns([r.equity for r in results.values()])
    return {
        **return_figures(returns, n_trials, sr_variance),
        "max_drawdown": float(max(r.metrics["max_drawdown"] for r in results.values())),
        "n_trades": float(sum(r.metrics["n_trades"] for r in results.values())),
        "total_pnl": float(sum(r.trades["pnl"].sum() for r in results.values())),
        "total_return": float(np.mean([r.metrics["total_return"] for r in results.values()])),
    }


_TRADE_TYPES = {"entry_time": "datetime64[ns, UTC]", "exit_time": "datetime64[ns, UTC]", "direction": "int64",
                "lots": "float64", "gross_pnl": "float64", "commission": "float64", "swap": "float64",
                "pnl": "float64", "symbol": "string"}
_EQUITY_TYPES = {"symbol": "string", "ts": "datetime64[ns, UTC]", "equity": "float64"}


def write_backtest_outputs(store: MarketStore, strategy: str, version: str,
                           results: dict[str, BacktestResult]) -> dict[str, int]:
    """Store the trades and equity marks of one evaluated version for the analytics models, in
    the keyed tables ``backtest_trades`` and ``backtest_equity`` (key: strategy, model_version).

    A re-evaluation of the same version replaces its rows. Returns the rows written per table.
    """
    trades: list[pd.DataFrame] = [pd.DataFrame({c: pd.Series(dtype=t) for c, t in _TRADE_TYPES.items()})]
    equity: list[pd.DataFrame] = [pd.DataFrame({c: pd.Series(dtype=t) for c, t in _EQUITY_TYPES.items()})]
    for symbol, r in results.items():
        t = r.trades[["entry_time", "exit_time", "direction", "lots", "gross_pnl", "commission",
                      "swap", "pnl"]].assign(symbol=symbol)
        trades.append(t)
        equity.append(pd.DataFrame({"symbol": symbol, "ts": r.equity.index, "equity": r.equity.to_numpy()}))
    # Fixed types, so every version's rows have one schema even when it holds no trades.
    frames = {BACKTEST_TRADES: pd.concat(trades, ignore_index=True).astype(_TRADE_TYPES),
              BACKTEST_EQUITY: pd.concat(equity, ignore_index=True).astype(_EQUITY_TYPES)}
    key = {"strategy": strategy, "model_version": str(version)}
    for table, frame in frames.items():
        store.replace_rows(table, key, frame)
    return {table: len(frame) for table, frame in frames.items()}
