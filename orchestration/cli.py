"""alphaforge: from Dukascopy ticks to a promoted model, on your laptop or a cluster.

Typical first session:
  alphaforge demo --source synthetic          # everything offline, in a minute or two
  alphaforge ingest --symbols EURUSD --start 2024-03-04 --end 2024-03-08
  alphaforge train                             # train, evaluate out of sample, promote
  alphaforge serve                             # realtime API on http://127.0.0.1:8000/docs

Data, the MLflow store and Dagster's run history live under $ALPHAFORGE_DATA_DIR (default
./data); every command here runs through Dagster, so `make dev` shows what it did.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import logging
import os
import sys
from typing import Any

# Subcommands owned by other packages; each module exposes ``register(subparsers)``.
_COMMAND_MODULES = ["marketdata.cli", "ml.backtest.cli"]
_QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _instance() -> Any:
    """The Dagster instance under the data dir (or $DAGSTER_HOME), as `make dev` uses it."""
    from orchestration import settings

    home = settings.data_dir() / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DAGSTER_HOME", str(home))
    import dagster as dg

    return dg.DagsterInstance.get()


def _days(start: str, end: str) -> list[dt.date]:
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    if last < first:
        raise SystemExit(f"--end {end} is before --start {start}")
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _ingest(args: argparse.Namespace) -> int:
    os.environ["ALPHAFORGE_SYMBOLS"] = args.symbols
    os.environ["ALPHAFORGE_SOURCE"] = args.source
    if args.start < os.environ.get("ALPHAFORGE_PARTITION_START", "2012-12-01"):
        os.environ["ALPHAFORGE_PARTITION_START"] = args.start
    days = _days(args.start, args.end)
    instance = _instance()
    from orchestration.backfill import run_backfill
    from orchestration.definitions import defs

    symbols = [s.strip().upper() for s in args.symbols.split(",") if s.strip()]
    keys = [f"{d.isoformat()}|{s}" for d in days for s in symbols]
    report = run_backfill(defs.resolve_job_def("ingest"), keys, instance, run_config=_QUIET,
                          resume=not args.force)
    print(f"backfill {report.backfill_id}: {len(report.succeeded)} ingested, "
          f"{len(report.skipped)} already there, {len(report.failed)} failed")
    for key, error in report.failed.items():
        print(f"  FAILED {key}: {error}", file=sys.stderr)
    if report.failed:
        print("Run the same command again to retry only the failed partitions.", file=sys.stderr)
    return 0 if report.ok else 1


def _run_job(name: str, run_config: dict[str, Any]) -> Any:
    instance = _instance()
    from orchestration.definitions import defs

    result = defs.resolve_job_def(name).execute_in_process(
        instance=instance, run_config={**_QUIET, **run_config}, raise_on_error=False)
    if not result.success:
        from orchestration.demo import _report_failure

        _report_failure(result, name)
    return result


def _train(args: argparse.Namespace) -> int:
    ops: dict[str, Any] = {"training_set": {"config": {"start": args.start, "end": args.end}}}
    result = _run_job("train", {"ops": ops})
    if not result.success:
        return 1
    meta = result.asset_materializations_for_node("promotion")[0].metadata
    print(f"version {meta['version'].value} promoted to @champion: {meta['promoted'].value} "
          f"(gate: {meta['gate_failures'].value})")
    return 0


def _promote(args: argparse.Namespace) -> int:
    ops = {"evaluate_version": {"config": {"version": str(args.version), "oos_start": args.oos_start}}}
    result = _run_job("evaluate_model_version", {"ops": ops})
    if not result.success:
        return 1
    print(f"version {args.version} @champion: {result.output_for_node('promote_version')}")
    return 0


def _optimise(args: argparse.Namespace) -> int:
    instance = _instance()
    import dagster as dg

    from orchestration.definitions import defs

    config = {"symbol": args.symbol.upper(), "method": args.method, "n_trials": args.trials}
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=instance, asset_selection=[dg.AssetKey("strategy_optimization")], raise_on_error=False,
        run_config={**_QUIET, "ops": {"strategy_optimization": {"config": config}}})
    print("optimisation", "done: see the MLflow UI (make mlflow)" if result.success else "failed")
    return 0 if result.success else 1


def _serve(args: argparse.Namespace) -> int:
    if len(os.environ.get("REALTIME_API_KEY", "")) < 12:
        print("set REALTIME_API_KEY (12+ characters) first: clients send it as X-API-Key",
              file=sys.stderr)
        return 2
    import uvicorn

    uvicorn.run("realtime.main:create_app", factory=True, host=args.host, port=args.port)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``alphaforge`` parser: the orchestration commands plus every registered module's."""
    parser = argparse.ArgumentParser(prog="alphaforge", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("ingest", help="download ticks and build bars and features for a date range")
    p.add_argument("--symbols", default="EURUSD", help="comma separated, e.g. EURUSD,GBPJPY")
    p.add_argument("--start", required=True, help="first UTC day, YYYY-MM-DD")
    p.add_argument("--end", required=True, help="last UTC day, YYYY-MM-DD (inclusive)")
    p.add_argument("--source", default="dukascopy", choices=["dukascopy", "synthetic"],
                   help="the Dukascopy datafeed, or generated prices offline")
    p.add_argument("--force", action="store_true", help="re-ingest days already stored")
    p.set_defaults(func=_ingest)
    p = sub.add_parser("train", help="train every model family, evaluate out of sample, promote")
    p.add_argument("--start", default="", help="first training day (default: first stored)")
    p.add_argument("--end", default="", help="last training day (default: last stored)")
    p.set_defaults(func=_train)
    p = sub.add_parser("promote", help="evaluate one registered model version; promote if it passes")
    p.add_argument("version", help="the MLflow model version number")
    p.add_argument("--oos-start", default="", help="first out-of-sample day (default: from lineage)")
    p.set_defaults(func=_promote)
    p = sub.add_parser("optimise", help="walk-forward parameter search of the SMA-cross strategy")
    p.add_argument("--symbol", default="EURUSD")
    p.add_argument("--method", default="grid", choices=["grid", "optuna"])
    p.add_argument("--trials", type=int, default=20, help="Optuna trials")
    p.set_defaults(func=_optimise)
    # parsed by orchestration.demo itself (see main); listed here for --help
    sub.add_parser("demo", help="the whole pipeline on a few days (same as `make demo`)", add_help=False)
    p = sub.add_parser("serve", help="the realtime API (signals, orders) on http://127.0.0.1:8000")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=_serve)
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; its return value is the exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["demo"]:  # the demo has its own parser (and --help)
        from orchestration import demo

        return demo.main(argv[1:])
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
