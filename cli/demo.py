"""The main job on the embedded defaults: ingest a date range for some symbols, then train,
backtest and promote. ``make demo`` runs this; every run lands in the Dagster instance under
the data dir, so the Dagster UI (``make dev``) shows it afterwards.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import textwrap
from typing import Annotated, Literal

import typer

from cli import checks, inputs, logs, progress, runs
from cli.errors import CLIError

log = logging.getLogger(__name__)

Source = Literal["dukascopy", "synthetic"]
# Defaults, each overridable by the environment variable of the same name (as `make demo` sets).
SYMBOLS, START, END = "EURUSD", "2019-02-04", "2019-02-05"
SOURCE: Source = "dukascopy"
EPILOG = """Examples:

  alphaforge demo --source synthetic      # offline, generated prices
  alphaforge demo --symbols EURUSD,GBPJPY --start 2019-02-04 --end 2019-02-05"""


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="alphaforge-demo", description=__doc__)
    p.add_argument("--symbols", default=os.environ.get("SYMBOLS", SYMBOLS))
    p.add_argument("--start", default=os.environ.get("START", START))
    p.add_argument("--end", default=os.environ.get("END", END))
    p.add_argument("--source", default=os.environ.get("SOURCE", SOURCE))
    return p.parse_args(argv)


def serving_note(promoted: bool, tracking_uri: str, name: str = "alphaforge-signal") -> str:
    """What ``make serve`` will do with this registry, in the words the service itself uses."""
    if promoted:
        return ("make serve   serves @champion on http://127.0.0.1:8000 (dashboard: /dashboard/,\n"
                "             API docs: /docs): signals, and orders through the paper broker")
    from mlflow import MlflowClient

    versions = MlflowClient(tracking_uri=tracking_uri).search_model_versions(f"name='{name}'")
    newest = max((int(v.version) for v in versions), default=0)
    return (f"make serve   no version passed the gate, so there is no @champion: the service serves\n"
            f"             v{newest} (the newest) for SIGNALS ONLY on http://127.0.0.1:8000. Orders are\n"
            f"             refused with 423, and /health and the dashboard (/dashboard/) say so.\n"
            f"             Trading starts once a version passes the gate (alphaforge promote VERSION)\n"
            f"             and the service reloads (POST /admin/reload, or a restart).")


def main(argv: list[str] | None = None) -> int:
    """Run ingest for every (day, symbol), then train/backtest/promote; print where things are.

    A failure ends with one line on stderr naming the cause and the fix.
    """
    args = _parse(argv)
    try:
        return run(args.symbols, args.start, args.end, args.source)
    except CLIError as exc:
        log.info("alphaforge demo failed", exc_info=True)
        print(f"alphaforge demo: error: {exc}", file=sys.stderr)
        return exc.exit_code


def run(symbol_list: str, start: str, end: str, source: str) -> int:
    """The demo's work; raises :class:`CLIError` when a step cannot be done."""
    symbols, days = inputs.symbols(symbol_list), inputs.days(start, end)
    import dagster as dg

    from assets.partitions import add_days
    from orchestration import settings

    checks.datafeed_reachable(source, symbols[0], days[0], offline="make demo SOURCE=synthetic")
    defs = runs.definitions(runs.batch_settings(symbols, source))
    instance = runs.instance()
    ingest, train = defs.resolve_job_def("ingest"), defs.resolve_job_def("train")
    add_days(instance, days)  # the days become partitions, and the Dagster UI shows just these
    for day in days:
        for symbol in symbols:
            key = dg.MultiPartitionKey({"date": day.isoformat(), "symbol": symbol})
            result = ingest.execute_in_process(partition_key=key, instance=instance,
                                               run_config=logs.dagster_console(), raise_on_error=False)
            if not result.success:
                raise CLIError(runs.failure_message(result, f"ingest {symbol} {day}"))
            print(f"ingested {symbol} {day}")
    from assets.models import model_families

    training = {"ops": {"training_set": {"config": {"symbols": ",".join(symbols)}}}}
    with progress.training(model_families()):
        result = train.execute_in_process(instance=instance, raise_on_error=False,
                                          run_config={**logs.dagster_console(), **training})
    if not result.success:
        raise CLIError(runs.failure_message(result, "train"))
    promo = result.asset_materializations_for_node("promotion")[0].metadata
    data = settings.data_dir()
    serving = serving_note(bool(promo["promoted"].value), settings.tracking_uri())
    print(textwrap.dedent(f"""
        Done. Model version {promo['version'].value}: promoted to @champion = {promo['promoted'].value}
          gate: {promo['gate_failures'].value}
        Results:
          lake (ticks, bars, features): {data / 'lake'}
          MLflow store:                 {settings.tracking_uri()}
          Dagster runs:                 {runs.dagster_home()}
        Next:
          make dev     Dagster UI on http://127.0.0.1:3000
          make mlflow  MLflow UI on http://127.0.0.1:5000 (each version's run has a tearsheet)
        """) + textwrap.indent(serving, "  ") + "\n")
    return 0


def demo_command(
    symbols: Annotated[str, typer.Option(envvar="SYMBOLS", help="Comma separated.")] = SYMBOLS,
    start: Annotated[str, typer.Option(envvar="START", help="First UTC day.", metavar="YYYY-MM-DD")] = START,
    end: Annotated[str, typer.Option(envvar="END", help="Last UTC day (included).",
                                     metavar="YYYY-MM-DD")] = END,
    source: Annotated[Source, typer.Option(
        envvar="SOURCE", help="dukascopy: the datafeed; synthetic: offline.")] = SOURCE,
) -> None:
    """The whole pipeline on a few days (same as make demo).

    Ingests the days, trains, backtests and promotes, then prints where the
    results are. An unreachable Dukascopy datafeed exits with status 2 and
    says how to run offline.
    """
    code = main(["--symbols", symbols, "--start", start, "--end", end, "--source", source])
    if code:
        raise typer.Exit(code)


if __name__ == "__main__":
    logs.configure(verbose=False)
    sys.exit(main())
