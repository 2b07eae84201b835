"""The ``strategy_optimization`` asset: a walk-forward parameter search with overfitting stats."""


import base64
import datetime as dt

import dagster as dg
from mlflow import MlflowClient
from pydantic import Field

from assets.resources import MarketDataResource, MLflowResource
from marketdata.instruments import get_instrument
from ml.backtest import CostModel
from ml.costs.currency import fx_symbol
from ml.optimize import SearchSpec, WalkForward, optimize
from ml.optimize.ledger import count_search, strategy_ledger_name
from ml.optimize.report import heatmap_png
from ml.optimize.tracking import log_search


class OptimizationConfig(dg.Config):
    """What to search (SMA crossover grid or Optuna), on which bars, with which costs."""

    symbol: str = "EURUSD"
    start: str = ""  # ISO dates; empty = every stored day
    end: str = ""
    timeframe: str = "1m"
    fast: list[int] = Field(default_factory=lambda: [5, 10, 20, 40])
    slow: list[int] = Field(default_factory=lambda: [30, 60, 120, 240])
    method: str = "grid"  # or "optuna"
    n_trials: int = 20
    train_bars: int = 5_000
    test_bars: int = 1_000
    workers: int = 2
    commission_per_lot: float = 3.5
    slippage_pips: float = 0.1
    seed: int = 0
    trial_ledger: str = ""  # the ledger every candidate counts in; empty = strategy-sma_cross-SYMBOL


@dg.asset(group_name="models", kinds={"mlflow", "optuna"}, deps=["bars_1m"])
def strategy_optimization(context: dg.AssetExecutionContext, config: OptimizationConfig,
                          market: MarketDataResource,
                          mlflow_server: MLflowResource) -> dg.MaterializeResult:
    """Search the strategy's parameters walk-forward, log parent/child runs to MLflow (the
    heatmap and the overfitting statistics on the parent), count every candidate in the
    strategy's trial ledger, and report the selection, its deflated Sharpe (over the ledger's
    total), PBO and Monte Carlo drawdowns with the heatmap."""
    store = market.store()
    days = store.days("bars", config.symbol, config.timeframe)
    if not days:
        raise dg.Failure(f"no {config.timeframe} bars stored for {config.symbol}")
    start = dt.date.fromisoformat(config.start) if config.start else days[0]
    end = dt.date.fromisoformat(config.end) if config.end else days[-1]
    bars = store.read_bars(config.symbol, start, end, config.timeframe)
    spec = SearchSpec("sma_cross", {"fast": config.fast, "slow": config.slow},
                      method=config.method, n_trials=config.n_trials, seed=config.seed,
                      workers=config.workers)
    wf = WalkForward(config.train_bars, config.test_bars)
    costs = CostModel(commission_per_lot=config.commission_per_lot,
                      slippage_pips=config.slippage_pips)
    inst = get_instrument(config.symbol)
    cross = fx_symbol(inst, costs.account_currency)  # GBPJPY in USD converts through USDJPY
    fx = {"fx_bars": store.read_bars(cross, start, end, config.timeframe)} if cross else {}
    result = optimize(bars, spec, inst, costs, wf, backtest_kwargs=fx)
    # every candidate counts in the strategy's ledger; the pick is deflated by its total
    ledger = config.trial_ledger or strategy_ledger_name(spec.strategy, config.symbol)
    count_search(MlflowClient(tracking_uri=mlflow_server.tracking_uri), ledger, result, spec,
                 config.symbol)
    heatmap = heatmap_png(result.table, "fast", "slow")
    run_id = log_search(result, spec, wf, mlflow_server.tracking_uri, symbol=config.symbol,
                        heatmap=heatmap)
    png = base64.b64encode(heatmap).decode()
    context.log.info("best %s, stats %s", result.best.params, result.stats)
    return dg.MaterializeResult(metadata={
        "heatmap": dg.MetadataValue.md(f"![heatmap](data:image/png;base64,{png})"),
        "best_params": dg.MetadataValue.json(result.best.params),
        "fold_params": dg.MetadataValue.json(result.walk_forward["fold_params"]),
        "stats": dg.MetadataValue.json({k: (v if v == v else None)
                                        for k, v in result.stats.items()}),
        "best_is_sharpe": dg.MetadataValue.float(result.best.score),
        "best_oos_sharpe": dg.MetadataValue.float(result.best.oos_score),
        "mlflow_parent_run_id": dg.MetadataValue.text(run_id),
        "n_candidates": dg.MetadataValue.int(len(result.candidates)),
        "trial_ledger": dg.MetadataValue.text(ledger),
        "n_trials": dg.MetadataValue.int(int(result.stats["n_trials"])),
        "bars": dg.MetadataValue.int(len(bars)),
    })
