"""What the ``alphaforge`` pipeline commands do, as plain functions (the CLI is in cli.app).

Each function returns the process exit status (0: done). Values the user can fix (a bad date,
an unknown symbol, a missing setting) raise :class:`InputError` before anything runs; a missing
prerequisite or a failed run raises :class:`CLIError` with the cause and the fix. Every run goes
through the Dagster instance under the data dir, so `make dev` shows it.
The command line's choices reach the pipeline as settings objects and run config.
"""

from __future__ import annotations

import logging
import os

from cli import checks, inputs, logs, progress, runs
from cli.errors import CLIError, InputError

log = logging.getLogger(__name__)


def ingest(symbol_list: str, start: str, end: str, source: str, force: bool = False) -> int:
    """Backfill every (day, symbol) partition of the ingest job; stored ones are skipped."""
    names, dates = inputs.symbols(symbol_list), inputs.days(start, end)
    checks.datafeed_reachable(source, names[0], dates[0], offline="alphaforge ingest --source synthetic")
    defs = runs.definitions(runs.batch_settings(names, source))
    from orchestration.backfill import days_per_run, key_ranges, run_backfill

    keys = [f"{d.isoformat()}|{s}" for d in dates for s in names]
    log.info("ingesting %d partitions from %s", len(keys), source)
    job, inst, report = defs.resolve_job_def("ingest"), runs.instance(), None
    run_config = {**logs.dagster_console(),
                  **({"ops": {"ticks": {"config": {"refetch": True}}}} if force else {})}
    with progress.steps(f"ingesting {len(keys)} partitions", len(keys)) as bar:
        # one backfill, a ranged run (consecutive days of a symbol) at a time, so the bar moves
        for group in key_ranges(keys, days_per_run(job)):
            part = run_backfill(job, group, inst, run_config=run_config, resume=not force,
                                backfill_id=report.backfill_id if report else None)
            if report is None:
                report = part
            else:
                report.succeeded += part.succeeded
                report.skipped += part.skipped
                report.failed.update(part.failed)
            progress.advance(bar, f"ingested {group[-1]}", steps=len(group))
    assert report is not None  # keys is never empty
    print(f"backfill {report.backfill_id}: {len(report.succeeded)} ingested, "
          f"{len(report.skipped)} already there, {len(report.failed)} failed")
    if report.failed:
        for key, error in report.failed.items():
            log.info("FAILED %s: %s", key, error)
        key, error = next(iter(report.failed.items()))
        raise CLIError(f"{len(report.failed)} of {len(keys)} partitions failed, first {key}: "
                       f"{' '.join(error.split())}{_ingest_fix(error)}; run the same command again to "
                       "retry only the failed ones (-v lists them all)")
    return 0


def _ingest_fix(error: str) -> str:
    """What to do about one failed partition, judged by its error."""
    if "HTTP 404" in error:
        return " (the datafeed or mirror has no file for that day: ingest days it holds)"
    return ""


def train(start: str = "", end: str = "") -> int:
    """Train every model family on the stored features, evaluate out of sample, promote."""
    for value, option in ((start, "--start"), (end, "--end")):
        if value:
            inputs.parse_day(value, option)
    from assets.partitions import configured_symbols
    from orchestration import settings

    checks.features_stored(str(settings.data_dir() / "lake"), configured_symbols())
    from assets.models import model_families

    defs = runs.definitions()
    with progress.training(model_families()):
        config = {"start": start, "end": end}
        result = runs.run_job(defs, "train", {"ops": {"training_set": {"config": config}}})
    meta = result.asset_materializations_for_node("promotion")[0].metadata
    print(f"version {meta['version'].value} promoted to @champion: {meta['promoted'].value} "
          f"(gate: {meta['gate_failures'].value})")
    return 0


def promote(version: int, oos_start: str = "") -> int:
    """Evaluate one registered model version out of sample; make it @champion if it passes."""
    if oos_start:
        inputs.parse_day(oos_start, "--oos-start")
    from assets.resources import MLflowResource
    from orchestration import settings

    checks.version_registered(settings.tracking_uri(), MLflowResource().registered_model, version)
    ops = {"evaluate_version": {"config": {"version": str(version), "oos_start": oos_start}}}
    result = runs.run_job(runs.definitions(), "evaluate_model_version", {"ops": ops})
    print(f"version {version} @champion: {result.output_for_node('promote_version')}")
    return 0


def optimise(symbol: str, method: str = "grid", trials: int = 20, start: str = "", end: str = "",
             train_bars: int = 0, test_bars: int = 0) -> int:
    """Walk-forward search of the SMA-cross parameters on the stored bars of ``symbol`` from
    ``start`` to ``end`` (default: every stored day); windows of 0 bars are sized to the data."""
    (name,) = inputs.symbols(symbol)
    first = inputs.parse_day(start, "--start") if start else None
    last = inputs.parse_day(end, "--end") if end else None
    n_bars = checks.stored_bars(name, first, last)
    train_bars, test_bars = windows(n_bars, train_bars, test_bars)
    import dagster as dg

    defs = runs.definitions()
    config = {"symbol": name, "method": method, "n_trials": trials, "start": start, "end": end,
              "train_bars": train_bars, "test_bars": test_bars}
    log.info("optimising on %d bars: %d in-sample, %d out-of-sample per fold", n_bars, train_bars, test_bars)
    job = defs.resolve_implicit_global_asset_job_def()
    with progress.steps(f"optimising ({method}) on {n_bars} bars", None):
        result = job.execute_in_process(
            instance=runs.instance(), asset_selection=[dg.AssetKey("strategy_optimization")],
            raise_on_error=False,
            run_config={**logs.dagster_console(), "ops": {"strategy_optimization": {"config": config}}})
    if not result.success:
        raise CLIError(runs.failure_message(result, "optimise"))
    print(f"optimisation done on {n_bars} bars ({train_bars} in-sample + {test_bars} out-of-sample per "
          "fold): see the MLflow UI (make mlflow)")
    (mat,) = result.asset_materializations_for_node("strategy_optimization")
    print(f"every candidate counted in trial ledger {mat.metadata['trial_ledger'].value}: the pick's "
          f"deflated Sharpe is over its {mat.metadata['n_trials'].value} trials so far")
    return 0


# The asset's default fold, kept when the data allows it.
DEFAULT_TRAIN_BARS, DEFAULT_TEST_BARS = 5_000, 1_000


def windows(n_bars: int, train_bars: int = 0, test_bars: int = 0) -> tuple[int, int]:
    """Walk-forward (in-sample, out-of-sample) bars for ``n_bars``: the ones given, else the
    default fold when it fits, else half and a quarter of the data (two folds)."""
    if not train_bars and not test_bars and n_bars >= DEFAULT_TRAIN_BARS + DEFAULT_TEST_BARS:
        return DEFAULT_TRAIN_BARS, DEFAULT_TEST_BARS
    train_bars = train_bars or n_bars // 2
    test_bars = test_bars or max(2, min(n_bars - train_bars, n_bars // 4))
    if train_bars < 2 or train_bars + test_bars > n_bars:
        raise InputError(f"{n_bars} stored bars are too few for one fold of {train_bars} in-sample + "
                         f"{test_bars} out-of-sample bars: lower --train-bars / --test-bars or ingest "
                         "more days")
    return train_bars, test_bars


def serve(host: str = "127.0.0.1", port: int = 8000) -> int:
    """Run the realtime API with uvicorn until interrupted."""
    if len(os.environ.get("REALTIME_API_KEY", "")) < 12:
        raise InputError("set REALTIME_API_KEY (12+ characters) first: clients send it as X-API-Key",
                         exit_code=2)
    from pydantic import ValidationError

    from realtime.serving import serve as serve_realtime
    from realtime.settings import Settings

    try:
        cfg = Settings()  # type: ignore[call-arg]
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(f"{first['msg'].removeprefix('Value error, ')} (a REALTIME_ variable; see "
                         "realtime/settings.py)", exit_code=2) from None
    checks.model_registered(cfg.mlflow_tracking_uri, cfg.model_name)
    serve_realtime(host, port)  # the uvicorn options every way of serving shares
    return 0
