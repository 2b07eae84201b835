"""Model assets: training set, one signal model per family, out-of-sample evaluation, promotion."""

import os
from dataclasses import replace

import dagster as dg
import mlflow
import pandas as pd

from assets.features import features
from assets.model_configs import GateConfig, SelectionConfig, TrainingSetConfig
from assets.partitions import configured_symbols
from assets.reports import report_metadata
from assets.resources import MarketDataResource, MLflowResource
from marketdata.tables import BACKTEST_EQUITY, BACKTEST_TRADES
from ml.dataset import MAX_ROWS_PER_SYMBOL, bounded_start
from ml.evaluation import EvaluationConfig, evaluate_oos, write_backtest_outputs
from ml.families import default_families, get_family
from ml.features import DEFAULT_FEATURE_SET
from ml.holdout import holdout_figures, split_holdout
from ml.promotion import Candidate, deflate_by_ledger, promote_version
from ml.records import Evaluation, Selection, TrainedModel, TrainingSet
from ml.registry import CHALLENGER, load_registered
from ml.report import markdown_table
from ml.report.publish import publish_version_report
from ml.selection import candidate_grid, record_selection, select_candidates
from ml.training import TrainConfig, split_train_test, train_and_register

# GPU families ask Kubernetes for a GPU node; the code picks cuda by itself when it is there.
GPU_TAGS = {"dagster-k8s/config": {
    "container_config": {"resources": {"limits": {"nvidia.com/gpu": "1", "memory": "8Gi"}}},
    "pod_spec_config": {"node_selector": {"nvidia.com/gpu.present": "true"}},
}}


def model_families() -> list[str]:
    """Families to train (ALPHAFORGE_MODEL_FAMILIES, comma separated; default: the registry's
    default families)."""
    raw = os.environ.get("ALPHAFORGE_MODEL_FAMILIES", "")
    return [f.strip() for f in raw.split(",") if f.strip()] or default_families()


@dg.asset(group_name="models", deps=[features], kinds={"pandas"})
def training_set(context: dg.AssetExecutionContext, config: TrainingSetConfig,
                 market: MarketDataResource) -> TrainingSet:
    """Stored features with labels over the training window, and its lineage."""
    store = market.store()
    symbols = [s.strip() for s in config.symbols.split(",") if s.strip()] or configured_symbols()
    days = sorted({d for s in symbols for d in store.days("features", s)})
    if not days:
        raise dg.Failure("no features stored yet: materialise ticks, bars_1m and features first")
    start = pd.Timestamp(config.start).date() if config.start else days[0]
    end = pd.Timestamp(config.end).date() if config.end else days[-1]
    holdout = None
    if config.holdout_days:  # a frozen holdout takes the newest days from training and selection
        end, holdout = split_holdout([d for d in days if start <= d <= end], config.holdout_days)
    # The partitions training will read: a long window is capped to each symbol's latest days.
    firsts = {s: bounded_start(store, s, start, end, MAX_ROWS_PER_SYMBOL) for s in symbols}
    partitions = [f"{d}|{s}" for s in symbols for d in store.days("features", s) if firsts[s] <= d <= end]
    training = TrainingSet(tuple(symbols), start, end, config.horizon, config.label, tuple(partitions),
                           holdout)
    frame = training.frame(store)
    context.add_output_metadata({"dagster/row_count": len(frame), "label": config.label,
                                 "up_share": float(frame["label"].mean()) if len(frame) else 0.0,
                                 "partitions_read": len(partitions),
                                 "holdout": dg.MetadataValue.json(holdout.as_dict() if holdout else {})})
    # The window, not the rows: each model step reads them from the store itself, so the output
    # stays small whichever IO manager carries it between pods.
    return training


def signal_model_asset(family: str) -> dg.AssetsDefinition:
    """The asset training one registered family (an unknown name is refused here, at load)."""
    spec = get_family(family)

    @dg.asset(name=f"signal_model_{family}", group_name="models", kinds={"mlflow", spec.kind},
              op_tags=GPU_TAGS if spec.gpu else None)
    def _model(context: dg.AssetExecutionContext, training_set: TrainingSet,
               market: MarketDataResource, mlflow_server: MLflowResource) -> TrainedModel:
        mlflow_server.activate()
        cfg = TrainConfig(family=family, horizon=training_set.horizon)
        frame = training_set.frame(market.store())
        result = train_and_register(frame, DEFAULT_FEATURE_SET, cfg,
                                    mlflow_server.registered_model, training_set.lineage())
        context.add_output_metadata({"version": result.version, "run_id": result.run_id,
                                     **{k: float(v) for k, v in result.metrics.items()}})
        return TrainedModel(family, result.version, pd.Timestamp(result.test_start), training_set.end,
                            training_set.symbols, cfg.horizon, cfg.threshold, training_set.holdout)

    _model.__doc__ = f"The {family} signal model, trained, logged to MLflow and registered."
    return _model


signal_models = [signal_model_asset(f) for f in model_families()]


@dg.asset(group_name="models", kinds={"mlflow", "sklearn"})
def model_selection(context: dg.AssetExecutionContext, config: SelectionConfig, training_set: TrainingSet,
                    market: MarketDataResource, mlflow_server: MLflowResource) -> Selection:
    """With ``cpcv``: the PBO of choosing among families x hyperparameters x thresholds, by CPCV
    on the training period only (the holdout stays unseen); each candidate joins the trial ledger."""
    if not config.cpcv:
        context.add_output_metadata({"cpcv": False})
        return Selection(cpcv=False)
    client = mlflow_server.activate()
    horizon = training_set.horizon
    train, _holdout = split_train_test(training_set.frame(market.store()), TrainConfig(horizon=horizon))
    candidates = candidate_grid(config.families or model_families(), config.thresholds, horizon)
    cv = TrainConfig(cv="cpcv", cv_splits=config.cv_splits, horizon=horizon)
    sel = select_candidates(train, DEFAULT_FEATURE_SET, candidates, cv, config.pbo_splits)
    record_selection(client, mlflow_server.registered_model, sel, candidates)
    with mlflow.start_run(run_name="candidate-selection") as run:
        mlflow.log_params({"cv": "cpcv", "cv_splits": config.cv_splits, "pbo_splits": config.pbo_splits,
                           "n_candidates": len(candidates)})
        mlflow.set_tags({f"lineage.{k}": str(v) for k, v in training_set.lineage().items()})
        mlflow.log_metrics({"pbo": sel.pbo, "n_candidates": len(candidates)})
    context.add_output_metadata({"cpcv": True, "pbo": sel.pbo, "n_candidates": len(candidates),
                                 "candidates": dg.MetadataValue.json(list(sel.returns.columns)),
                                 "mlflow_run_id": run.info.run_id})
    return Selection(True, sel.pbo, len(candidates), run.info.run_id)


@dg.asset(group_name="models", kinds={"mlflow"},
          ins={**{m.key.path[-1]: dg.AssetIn(m.key) for m in signal_models},
               "model_selection": dg.AssetIn(model_selection.key)})
def model_evaluation(context: dg.AssetExecutionContext, market: MarketDataResource,
                     mlflow_server: MLflowResource, model_selection: Selection,
                     **models: TrainedModel) -> Evaluation:
    """Out-of-sample backtest of every new version with spread, commission, slippage and swaps;
    the best by Sharpe becomes @challenger. Trades and equity marks go to the store for dbt; a
    tearsheet per version goes to its MLflow run and data_dir/reports. The selection's PBO (when
    CPCV ran) joins every version's figures for the gate; with a frozen holdout, the challenger
    alone is then backtested on it once."""
    client = mlflow_server.activate()
    name, candidates, reports, store = mlflow_server.registered_model, [], {}, market.store()
    pbo = {"pbo": model_selection.pbo} if model_selection.cpcv else {}
    loaded = {}
    for info in models.values():
        model = load_registered(mlflow_server.tracking_uri, name, version=info.version).model
        loaded[info.version] = (model, info)
        start, end = info.test_start, info.end
        metrics, results = evaluate_oos(model, store, list(info.symbols), start, end, EvaluationConfig())
        write_backtest_outputs(store, f"{name}-{info.family}", info.version, results)
        reports[info.version] = publish_version_report(
            client, name, info.version, model, store, results, start, end,
            market.reports_dir() / f"{name}-v{info.version}")
        choices = {"kind": "retrain", "family": info.family, "version": info.version,
                   "horizon": info.horizon, "threshold": info.threshold,
                   "oos_start": info.test_start.isoformat()}
        candidates.append(Candidate(choices, {**metrics, **pbo}, results))
    # every candidate ever evaluated for this model deflates the Sharpe, not just this run's
    deflated = deflate_by_ledger(client, name, candidates)
    evaluations = {e.version: e for e in (Evaluation(str(c.choices["version"]), m, str(c.choices["family"]))
                                          for c, m in zip(candidates, deflated, strict=True))}
    table = {v: {"family": e.family, **e.metrics} for v, e in evaluations.items()}
    best = max(table, key=lambda v: (table[v]["sharpe"] == table[v]["sharpe"], table[v]["sharpe"]))
    client.set_registered_model_alias(name, CHALLENGER, best)
    model, info = loaded[best]
    if info.holdout is not None:  # the chosen one only, once: the frozen days judge no other choice
        figures = holdout_figures(model, store, list(info.symbols), info.holdout, EvaluationConfig())
        table[best].update(figures)
        evaluations[best] = replace(evaluations[best], metrics={**evaluations[best].metrics, **figures})
    meta = {"challenger": best, "candidates": dg.MetadataValue.json(table),
            "candidates_table": dg.MetadataValue.md(markdown_table(pd.DataFrame(table).T))}
    report = reports.get(best)
    if report is not None:  # the challenger's tearsheet inline; every one is in MLflow
        meta.update(report_metadata(client, mlflow_server.tracking_uri, report))
    context.add_output_metadata(meta)
    return evaluations[best]


@dg.asset(group_name="models", kinds={"mlflow"})
def promotion(context: dg.AssetExecutionContext, config: GateConfig, model_evaluation: Evaluation,
              mlflow_server: MLflowResource) -> dg.MaterializeResult:
    """Move @champion to the challenger only when the out-of-sample gate holds."""
    client = mlflow_server.activate()
    decision = promote_version(client, mlflow_server.registered_model, model_evaluation.version,
                               model_evaluation.metrics, config.gate())
    return dg.MaterializeResult(metadata={"promoted": decision.promoted, "paper": decision.paper,
                                          "version": decision.version,
                                          "family": model_evaluation.family,
                                          "gate_failures": decision.gate_failures})


@dg.multi_asset(specs=[dg.AssetSpec("backtest_trades", deps=[model_evaluation], group_name="models"),
                       dg.AssetSpec("backtest_equity", deps=[model_evaluation], group_name="models")])
def backtest_outputs(market: MarketDataResource):
    """The trade and equity tables model_evaluation wrote, as assets the dbt models read."""
    store = market.store()
    for table in (BACKTEST_TRADES, BACKTEST_EQUITY):
        rows = store.read_rows(table)
        versions = len(rows[["strategy", "model_version"]].drop_duplicates()) if len(rows) else 0
        yield dg.MaterializeResult(asset_key=table, metadata={"dagster/row_count": len(rows),
                                                              "versions": versions})


model_assets = [training_set, *signal_models, model_selection, model_evaluation, promotion, backtest_outputs]
