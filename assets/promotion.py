"""The ops of the evaluate-one-version job: backtest a registered version, then promote it.

A version can be registered outside the ``train`` job (a notebook, the optimiser, another
pipeline). These ops backtest that version out of sample on the stored bars and run it through
the same promotion path as the ``promotion`` asset (:mod:`ml.promotion`); the job that chains
them is ``orchestration.evaluation.evaluate_model_version``.
"""


import dagster as dg

from assets.models import GateConfig
from assets.partitions import configured_symbols
from assets.reports import report_metadata
from assets.resources import MarketDataResource, MLflowResource
from ml import promotion
from ml.errors import LeakageError, NotEnoughDataError
from ml.evaluation import EvaluationConfig, evaluate_oos
from ml.records import Evaluation
from ml.registry import load_registered
from ml.report.publish import publish_version_report


class EvaluateVersionConfig(dg.Config):
    """Which version to evaluate, and from when (empty: its lineage tags, else the last day)."""

    version: str
    oos_start: str = ""


@dg.op(description="Backtest one registered version out of sample on the stored bars.")
def evaluate_version(context: dg.OpExecutionContext, config: EvaluateVersionConfig,
                     market: MarketDataResource, mlflow_server: MLflowResource) -> Evaluation:
    """Pooled out-of-sample metrics of ``config.version``."""
    client = mlflow_server.activate()
    name, store = mlflow_server.registered_model, market.store()
    try:
        window = promotion.lineage_window(client, name, config.version, store, configured_symbols(),
                                          config.oos_start)
    except (NotEnoughDataError, LeakageError) as exc:  # nothing is evaluated, nothing promoted
        raise dg.Failure(str(exc)) from None
    model = load_registered(mlflow_server.tracking_uri, name, version=config.version).model
    metrics, results = evaluate_oos(model, store, window.symbols, window.start, window.end,
                                    EvaluationConfig())
    report = publish_version_report(client, name, config.version, model, store, results, window.start,
                                    window.end, market.reports_dir() / f"{name}-v{config.version}")
    choices = {"kind": "re-evaluation", "version": config.version, "oos_start": window.start.isoformat()}
    (metrics,) = promotion.deflate_by_ledger(client, name, [promotion.Candidate(choices, metrics, results)])
    context.add_output_metadata({**{k: float(v) for k, v in metrics.items()},
                                 "oos_start": str(window.start), "symbols": ",".join(window.symbols),
                                 **(report_metadata(client, mlflow_server.tracking_uri, report)
                                    if report else {})})
    return Evaluation(config.version, metrics)


@dg.op(description="Move @champion to the version only when the out-of-sample gate holds.")
def promote_version(context: dg.OpExecutionContext, config: GateConfig, evaluation: Evaluation,
                    mlflow_server: MLflowResource) -> bool:
    """Record the gate's figures on the version; True when it became @champion."""
    client = mlflow_server.activate()
    decision = promotion.promote_version(client, mlflow_server.registered_model, evaluation.version,
                                         evaluation.metrics, config.gate())
    context.add_output_metadata({"promoted": decision.promoted, "paper": decision.paper,
                                 "version": decision.version,
                                 "gate_failures": decision.gate_failures})
    return decision.promoted
