"""What the ``alphaforge`` pipeline commands do, as plain functions (the CLI is in cli.app).

Each function returns the process exit status: 0 done, 1 a run failed. Values the user can fix
(a bad date, an unknown symbol, a missing setting) raise :class:`InputError` before anything
runs. Every run goes through the Dagster instance under the data dir, so `make dev` shows it.
The command line's choices reach the pipeline as settings objects and run config.
"""

from __future__ import annotations

import logging
import os
import sys

from cli import inputs, runs
from cli.errors import InputError

log = logging.getLogger(__name__)


def ingest(symbol_list: str, start: str, end: str, source: str, force: bool = False) -> int:
    """Backfill every (day, symbol) partition of the ingest job; stored ones are skipped."""
    names, dates = inputs.symbols(symbol_list), inputs.days(start, end)
    defs = runs.definitions(runs.batch_settings(names, start, source))
    from orchestration.backfill import run_backfill

    keys = [f"{d.isoformat()}|{s}" for d in dates for s in names]
    log.info("ingesting %d partitions from %s", len(keys), source)
    report = run_backfill(defs.resolve_job_def("ingest"), keys, runs.instance(), run_config=runs.QUIET,
                          resume=not force)
    print(f"backfill {report.backfill_id}: {len(report.succeeded)} ingested, "
          f"{len(report.skipped)} already there, {len(report.failed)} failed")
    for key, error in report.failed.items():
        print(f"  FAILED {key}: {error}", file=sys.stderr)
    if report.failed:
        print("Run the same command again to retry only the failed partitions.", file=sys.stderr)
    return 0 if report.ok else 1


def train(start: str = "", end: str = "") -> int:
    """Train every model family on the stored features, evaluate out of sample, promote."""
    for value, option in ((start, "--start"), (end, "--end")):
        if value:
            inputs.parse_day(value, option)
    result = runs.run_job(runs.definitions(), "train",
                          {"ops": {"training_set": {"config": {"start": start, "end": end}}}})
    if not result.success:
        return 1
    meta = result.asset_materializations_for_node("promotion")[0].metadata
    print(f"version {meta['version'].value} promoted to @champion: {meta['promoted'].value} "
          f"(gate: {meta['gate_failures'].value})")
    return 0


def promote(version: int, oos_start: str = "") -> int:
    """Evaluate one registered model version out of sample; make it @champion if it passes."""
    if oos_start:
        inputs.parse_day(oos_start, "--oos-start")
    ops = {"evaluate_version": {"config": {"version": str(version), "oos_start": oos_start}}}
    result = runs.run_job(runs.definitions(), "evaluate_model_version", {"ops": ops})
    if not result.success:
        return 1
    print(f"version {version} @champion: {result.output_for_node('promote_version')}")
    return 0


def optimise(symbol: str, method: str = "grid", trials: int = 20) -> int:
    """Walk-forward search of the SMA-cross parameters on the stored bars of ``symbol``."""
    (name,) = inputs.symbols(symbol)
    import dagster as dg

    defs = runs.definitions()
    config = {"symbol": name, "method": method, "n_trials": trials}
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=runs.instance(), asset_selection=[dg.AssetKey("strategy_optimization")],
        raise_on_error=False, run_config={**runs.QUIET, "ops": {"strategy_optimization": {"config": config}}})
    print("optimisation", "done: see the MLflow UI (make mlflow)" if result.success else "failed")
    if not result.success:
        runs.report_failure(result, "optimise")
    return 0 if result.success else 1


def serve(host: str = "127.0.0.1", port: int = 8000) -> int:
    """Run the realtime API with uvicorn until interrupted."""
    if len(os.environ.get("REALTIME_API_KEY", "")) < 12:
        raise InputError("set REALTIME_API_KEY (12+ characters) first: clients send it as X-API-Key",
                         exit_code=2)
    from realtime.serving import serve as serve_realtime

    serve_realtime(host, port)  # the uvicorn options every way of serving shares
    return 0
