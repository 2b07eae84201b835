"""What the ``alphaforge`` orchestration commands do, as plain functions (the CLI is in cli.py).

Each function returns the process exit status: 0 done, 1 a run failed. Values the user can fix
(a bad date, an unknown symbol, a missing setting) raise :class:`InputError` before anything
runs. Every run goes through the Dagster instance under the data dir, so `make dev` shows it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from typing import Any

from marketdata.errors import UnknownSymbolError
from marketdata.instruments import get_instrument
from orchestration.errors import InputError

log = logging.getLogger(__name__)

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def instance() -> Any:
    """The Dagster instance under the data dir (or $DAGSTER_HOME), as `make dev` uses it."""
    from orchestration import settings

    home = settings.data_dir() / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DAGSTER_HOME", str(home))
    import dagster as dg

    return dg.DagsterInstance.get()


def parse_day(value: str, option: str) -> dt.date:
    """``value`` as a date, or an :class:`InputError` naming ``option``."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} {value!r} is not a date: use YYYY-MM-DD") from None


def days(start: str, end: str) -> list[dt.date]:
    """Every day from ``start`` to ``end``, both included."""
    first, last = parse_day(start, "--start"), parse_day(end, "--end")
    if last < first:
        raise InputError(f"--end {end} is before --start {start}")
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def symbols(text: str) -> list[str]:
    """The comma separated ``text`` as catalogue symbols; an unknown one is an InputError."""
    names = [s.strip().upper() for s in text.split(",") if s.strip()]
    if not names:
        raise InputError("no symbol given: pass e.g. --symbols EURUSD,GBPJPY")
    try:
        return [get_instrument(name).symbol for name in names]
    except UnknownSymbolError as exc:
        raise InputError(str(exc)) from None


def ingest(symbol_list: str, start: str, end: str, source: str, force: bool = False) -> int:
    """Backfill every (day, symbol) partition of the ingest job; stored ones are skipped."""
    names, dates = symbols(symbol_list), days(start, end)
    os.environ["ALPHAFORGE_SYMBOLS"] = ",".join(names)
    os.environ["ALPHAFORGE_SOURCE"] = source
    if start < os.environ.get("ALPHAFORGE_PARTITION_START", "2012-12-01"):
        os.environ["ALPHAFORGE_PARTITION_START"] = start
    inst = instance()
    from orchestration.backfill import run_backfill
    from orchestration.definitions import defs

    keys = [f"{d.isoformat()}|{s}" for d in dates for s in names]
    log.info("ingesting %d partitions from %s", len(keys), source)
    report = run_backfill(defs.resolve_job_def("ingest"), keys, inst, run_config=QUIET,
                          resume=not force)
    print(f"backfill {report.backfill_id}: {len(report.succeeded)} ingested, "
          f"{len(report.skipped)} already there, {len(report.failed)} failed")
    for key, error in report.failed.items():
        print(f"  FAILED {key}: {error}", file=sys.stderr)
    if report.failed:
        print("Run the same command again to retry only the failed partitions.", file=sys.stderr)
    return 0 if report.ok else 1


def report_failure(result: object, what: str) -> int:
    """Print the failing step's own message, not a traceback."""
    for event in result.all_events:  # type: ignore[attr-defined]
        if event.is_step_failure:
            err = event.step_failure_data.error
            cause = err.cause or err
            print(f"{what} failed in {event.step_key}: {cause.message.strip()}", file=sys.stderr)
            return 1
    print(f"{what} failed", file=sys.stderr)
    return 1


def run_job(name: str, run_config: dict[str, Any]) -> Any:
    """Execute job ``name`` in process; on failure print the failing step's message."""
    inst = instance()
    from orchestration.definitions import defs

    result = defs.resolve_job_def(name).execute_in_process(
        instance=inst, run_config={**QUIET, **run_config}, raise_on_error=False)
    if not result.success:
        report_failure(result, name)
    return result


def train(start: str = "", end: str = "") -> int:
    """Train every model family on the stored features, evaluate out of sample, promote."""
    for value, option in ((start, "--start"), (end, "--end")):
        if value:
            parse_day(value, option)
    result = run_job("train", {"ops": {"training_set": {"config": {"start": start, "end": end}}}})
    if not result.success:
        return 1
    meta = result.asset_materializations_for_node("promotion")[0].metadata
    print(f"version {meta['version'].value} promoted to @champion: {meta['promoted'].value} "
          f"(gate: {meta['gate_failures'].value})")
    return 0


def promote(version: int, oos_start: str = "") -> int:
    """Evaluate one registered model version out of sample; make it @champion if it passes."""
    if oos_start:
        parse_day(oos_start, "--oos-start")
    ops = {"evaluate_version": {"config": {"version": str(version), "oos_start": oos_start}}}
    result = run_job("evaluate_model_version", {"ops": ops})
    if not result.success:
        return 1
    print(f"version {version} @champion: {result.output_for_node('promote_version')}")
    return 0


def optimise(symbol: str, method: str = "grid", trials: int = 20) -> int:
    """Walk-forward search of the SMA-cross parameters on the stored bars of ``symbol``."""
    (name,) = symbols(symbol)
    inst = instance()
    import dagster as dg

    from orchestration.definitions import defs

    config = {"symbol": name, "method": method, "n_trials": trials}
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=inst, asset_selection=[dg.AssetKey("strategy_optimization")], raise_on_error=False,
        run_config={**QUIET, "ops": {"strategy_optimization": {"config": config}}})
    print("optimisation", "done: see the MLflow UI (make mlflow)" if result.success else "failed")
    if not result.success:
        report_failure(result, "optimise")
    return 0 if result.success else 1


def serve(host: str = "127.0.0.1", port: int = 8000) -> int:
    """Run the realtime API with uvicorn until interrupted."""
    if len(os.environ.get("REALTIME_API_KEY", "")) < 12:
        raise InputError("set REALTIME_API_KEY (12+ characters) first: clients send it as X-API-Key",
                         exit_code=2)
    import uvicorn

    uvicorn.run("realtime.main:create_app", factory=True, host=host, port=port)
    return 0
