"""Model assets: train and register, backtest out of sample, promote through the gate."""


import dagster as dg
import mlflow
import pandas as pd

from assets.features import features
from assets.partitions import configured_symbols
from assets.resources import MarketDataResource, MLflowResource
from ml.dataset import training_frame
from ml.evaluation import EvaluationConfig, evaluate_oos
from ml.features import DEFAULT_FEATURE_SET
from ml.registry import CHALLENGER, PromotionGate, promote
from ml.training import TrainConfig, train_signal_model


class TrainingConfig(dg.Config):
    """Training window (ISO dates; empty = everything stored) and label settings."""

    start: str = ""
    end: str = ""
    horizon: int = 15
    threshold: float = 0.55


class GateConfig(dg.Config):
    """Promotion thresholds on out-of-sample figures."""

    min_sharpe: float = 0.5
    max_drawdown: float = 0.10
    min_trades: int = 20


def _window(market: MarketDataResource, cfg: TrainingConfig) -> tuple[pd.Timestamp, pd.Timestamp]:
    store = market.store()
    days = sorted({d for s in configured_symbols() for d in store.days("bars", s)})
    if not days:
        raise dg.Failure("no bars stored yet: materialise ticks and bars_1m first")
    start = pd.Timestamp(cfg.start) if cfg.start else pd.Timestamp(days[0])
    end = pd.Timestamp(cfg.end) if cfg.end else pd.Timestamp(days[-1])
    return start, end


@dg.asset(group_name="models", deps=[features], kinds={"mlflow", "sklearn"})
def signal_model(context: dg.AssetExecutionContext, config: TrainingConfig,
                 market: MarketDataResource, mlflow_server: MLflowResource) -> dict:
    """A logistic-regression signal model on stored features, logged to MLflow and registered
    as @challenger."""
    start, end = _window(market, config)
    symbols = configured_symbols()
    frame = training_frame(market.store(), symbols, start.date(), end.date(), DEFAULT_FEATURE_SET,
                           horizon=config.horizon)
    client = mlflow_server.activate()
    cfg = TrainConfig(horizon=config.horizon, threshold=config.threshold)
    result = train_signal_model(frame, DEFAULT_FEATURE_SET, cfg, mlflow_server.registered_model,
                                {"symbols": ",".join(symbols), "start": start.date(), "end": end.date()})
    client.set_registered_model_alias(mlflow_server.registered_model, CHALLENGER, result.version)
    context.add_output_metadata({"version": result.version, "run_id": result.run_id,
                                 "model_uri": result.model_uri, **result.metrics})
    return {"version": result.version, "test_start": result.test_start.isoformat(),
            "end": end.date().isoformat(), "symbols": symbols}


@dg.asset(group_name="models", kinds={"mlflow"})
def backtest(context: dg.AssetExecutionContext, signal_model: dict, market: MarketDataResource,
             mlflow_server: MLflowResource) -> dict:
    """Out-of-sample backtest of the new version with spread, commission, slippage and swaps."""
    mlflow_server.activate()
    uri = f"models:/{mlflow_server.registered_model}/{signal_model['version']}"
    model = mlflow.pyfunc.load_model(uri).unwrap_python_model()
    metrics, results = evaluate_oos(model, market.store(), signal_model["symbols"],
                                    pd.Timestamp(signal_model["test_start"]),
                                    pd.Timestamp(signal_model["end"]).date(), EvaluationConfig())
    context.add_output_metadata({
        **{k: float(v) for k, v in metrics.items()},
        "per_symbol": dg.MetadataValue.json({s: {k: float(v) for k, v in r.metrics.items()}
                                             for s, r in results.items()}),
    })
    return {"version": signal_model["version"], "metrics": metrics}


@dg.asset(group_name="models", kinds={"mlflow"})
def promotion(context: dg.AssetExecutionContext, config: GateConfig, backtest: dict,
              mlflow_server: MLflowResource) -> dg.MaterializeResult:
    """Move @champion to the new version only when the out-of-sample gate holds."""
    client = mlflow_server.activate()
    gate = PromotionGate(config.min_sharpe, config.max_drawdown, config.min_trades)
    promoted = promote(client, mlflow_server.registered_model, backtest["version"],
                       backtest["metrics"], gate)
    failures = gate.failures(backtest["metrics"])
    return dg.MaterializeResult(metadata={"promoted": promoted, "version": backtest["version"],
                                          "gate_failures": "; ".join(failures) or "none"})
