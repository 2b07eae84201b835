"""Evaluate and promote one registered model version: the job the model-version sensor starts.

A version can be registered outside the ``train`` job (a notebook, the optimiser, another
pipeline). This job backtests that version out of sample on the stored bars and runs it through
the same promotion gate as the ``promotion`` asset.
"""


import dagster as dg
import mlflow
import pandas as pd

from assets.models import GateConfig
from assets.partitions import configured_symbols
from assets.resources import MarketDataResource, MLflowResource
from ml.evaluation import EvaluationConfig, evaluate_oos
from ml.registry import PromotionGate, promote


class EvaluateVersionConfig(dg.Config):
    """Which version to evaluate, and from when (empty: its lineage tags, else the last day)."""

    version: str
    oos_start: str = ""


def _window(client: object, name: str, version: str, cfg: EvaluateVersionConfig,
            market: MarketDataResource) -> tuple[list[str], pd.Timestamp, pd.Timestamp]:
    mv = client.get_model_version(name, version)  # type: ignore[attr-defined]
    tags = client.get_run(mv.run_id).data.tags if mv.run_id else {}  # type: ignore[attr-defined]
    symbols = [s for s in tags.get("lineage.symbols", "").split(",") if s] or configured_symbols()
    store = market.store()
    days = sorted({d for s in symbols for d in store.days("bars", s)})
    if not days:
        raise dg.Failure(f"no bars stored for {symbols}: nothing to evaluate version {version} on")
    end = pd.Timestamp(tags.get("lineage.end") or days[-1])
    start = pd.Timestamp(cfg.oos_start or tags.get("lineage.test_start") or days[-1], tz="UTC")
    return symbols, start, end


@dg.op(description="Backtest one registered version out of sample on the stored bars.")
def evaluate_version(context: dg.OpExecutionContext, config: EvaluateVersionConfig,
                     market: MarketDataResource, mlflow_server: MLflowResource) -> dict:
    """Pooled out-of-sample metrics of ``config.version``."""
    client = mlflow_server.activate()
    symbols, start, end = _window(client, mlflow_server.registered_model, config.version, config, market)
    uri = f"models:/{mlflow_server.registered_model}/{config.version}"
    model = mlflow.pyfunc.load_model(uri).unwrap_python_model()
    metrics, _ = evaluate_oos(model, market.store(), symbols, start, end.date(), EvaluationConfig())
    context.add_output_metadata({**{k: float(v) for k, v in metrics.items()},
                                 "oos_start": str(start), "symbols": ",".join(symbols)})
    return {"version": config.version, "metrics": metrics}


@dg.op(description="Move @champion to the version only when the out-of-sample gate holds.")
def promote_version(context: dg.OpExecutionContext, config: GateConfig, evaluation: dict,
                    mlflow_server: MLflowResource) -> bool:
    """Record the gate's figures on the version; True when it became @champion."""
    client = mlflow_server.activate()
    gate = PromotionGate(config.min_sharpe, config.max_drawdown, config.min_trades, config.min_dsr)
    metrics = {k: float(v) for k, v in evaluation["metrics"].items() if isinstance(v, int | float)}
    promoted = promote(client, mlflow_server.registered_model, evaluation["version"], metrics, gate)
    context.add_output_metadata({"promoted": promoted, "version": evaluation["version"],
                                 "gate_failures": "; ".join(gate.failures(metrics)) or "none"})
    return promoted


@dg.job(description="Evaluate and promote one registered model version (started by a sensor).")
def evaluate_model_version() -> None:
    promote_version(evaluate_version())
