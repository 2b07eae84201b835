"""The main job on the embedded defaults: ingest a date range for some symbols, then train,
backtest and promote. ``make demo`` runs this; every run lands in the Dagster instance under
the data dir, so the Dagster UI (``make dev``) shows it afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import textwrap
from typing import Annotated, Literal

import typer

from cli import inputs, runs
from cli.errors import InputError

UNREACHABLE = """\
The Dukascopy datafeed at {url} could not be reached ({error}). alphaforge downloads tick
history from it by default. Check your connection or point ALPHAFORGE_DUKASCOPY_URL at a local
mirror of .bi5 files, or run fully offline on generated prices with: make demo SOURCE=synthetic"""


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


def _probe(source: str, symbols: list[str], day: dt.date) -> str | None:
    """Try one hour from the datafeed; return a user-facing paragraph when it is unreachable."""
    from assets.resources import MarketDataResource
    from marketdata.errors import DatafeedUnavailableError
    from orchestration.resources import build_resources

    market: MarketDataResource = build_resources(source=source)["market"]
    if market.source != "dukascopy":
        return None
    client = market.model_copy(update={"retries": 1, "timeout_s": 5.0}).tick_source()
    try:
        client.fetch_hour(symbols[0], dt.datetime.combine(day, dt.time(12), dt.UTC))  # type: ignore[attr-defined]
    except DatafeedUnavailableError as exc:
        return UNREACHABLE.format(url=market.dukascopy_url, error=exc)
    return None


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
    """Run ingest for every (day, symbol), then train/backtest/promote; print where things are."""
    args = _parse(argv)
    try:
        symbols, days = inputs.symbols(args.symbols), inputs.days(args.start, args.end)
    except InputError as exc:
        print(f"alphaforge demo: error: {exc}", file=sys.stderr)
        return 1
    import dagster as dg

    from orchestration import settings

    message = _probe(args.source, symbols, days[0])
    if message:
        print(textwrap.fill(" ".join(message.split()), 100), file=sys.stderr)
        return 2
    defs = runs.definitions(runs.batch_settings(symbols, args.start, args.source))
    instance = runs.instance()
    ingest, train = defs.resolve_job_def("ingest"), defs.resolve_job_def("train")
    for day in days:
        for symbol in symbols:
            key = dg.MultiPartitionKey({"date": day.isoformat(), "symbol": symbol})
            result = ingest.execute_in_process(partition_key=key, instance=instance,
                                               run_config=runs.QUIET, raise_on_error=False)
            if not result.success:
                return runs.report_failure(result, f"ingest {symbol} {day}")
            print(f"ingested {symbol} {day}")
    training = {"ops": {"training_set": {"config": {"symbols": ",".join(symbols)}}}}
    result = train.execute_in_process(instance=instance, run_config={**runs.QUIET, **training},
                                      raise_on_error=False)
    if not result.success:
        return runs.report_failure(result, "train")
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
    sys.exit(main())
