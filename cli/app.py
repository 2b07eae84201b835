"""The ``alphaforge`` command line: one typer app; the work is in :mod:`cli.commands`,
:mod:`cli.demo`, :mod:`cli.backtest` and :mod:`cli.inspect_bi5`."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Annotated, Any, Literal

import typer
from typer.core import TyperGroup

from cli import commands, demo, logs
from cli import inspect_bi5 as inspect_cli
from cli.backtest import app as backtest_app
from cli.errors import CLIError

log = logging.getLogger("alphaforge")

HELP = """\
alphaforge: from Dukascopy ticks to a promoted model and a live trading API.

The usual order: ingest (download ticks, build bars and features) -> train
(fit, evaluate out of sample, promote the best to @champion) -> promote
(re-check one version) -> backtest / optimise (test trading rules) -> serve
(the realtime API). demo runs all of it on a few days: start there.

Data, the MLflow store and Dagster's run history live under
$ALPHAFORGE_DATA_DIR (default ./data); the pipeline commands run through
Dagster, so `make dev` shows what they did. A command that cannot do its
work exits non-zero with a one-line message on stderr.
"""

EPILOG = """\
A first session:

  alphaforge demo --source synthetic     # all offline, in a minute or two
  alphaforge ingest --symbols EURUSD --start 2024-03-04 --end 2024-03-08
  alphaforge train                        # fit, evaluate, promote
  alphaforge serve                        # API on http://127.0.0.1:8000/docs

Run alphaforge COMMAND --help for a command's options.
"""

START_HERE, PIPELINE, TOOLS = "Start here", "Pipeline, in the usual order", "Tools"
ORDER = ["demo", "ingest", "train", "promote", "backtest", "optimise", "serve", "inspect"]
Source = demo.Source
DAY = "YYYY-MM-DD"


class _Ordered(TyperGroup):
    """Lists the commands in ORDER (typer would put sub-apps such as backtest last)."""

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted(super().list_commands(ctx), key=lambda n: ORDER.index(n) if n in ORDER else 99)


app = typer.Typer(
    name="alphaforge", cls=_Ordered, help=HELP, epilog=EPILOG, no_args_is_help=True,
    add_completion=False, pretty_exceptions_show_locals=False, rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _run(name: str, work: Callable[[], int]) -> None:
    """Run ``work``; show any failure as one line on stderr (its traceback goes to the log, shown
    with -v); exit with the status ``work`` returns."""
    try:
        code = work()
    except CLIError as exc:
        log.info("alphaforge %s failed", name, exc_info=True)
        print(f"alphaforge {name}: error: {exc}", file=sys.stderr)
        code = exc.exit_code
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:  # not foreseen: still one line, with the way to the details
        log.info("alphaforge %s failed", name, exc_info=True)
        print(f"alphaforge {name}: error: {type(exc).__name__}: {exc} (run alphaforge -v {name} ... "
              "for the traceback)", file=sys.stderr)
        code = 1
    if code:
        raise typer.Exit(code)


@app.callback()
def _options(verbose: Annotated[bool, typer.Option(
        "-v", "--verbose", help="Log each step (INFO) and the traceback of a failure.")] = False) -> None:
    logs.configure(verbose)


@app.command(rich_help_panel=PIPELINE, epilog="""Examples:

  alphaforge ingest --symbols EURUSD,GBPJPY --start 2024-03-04 --end 2024-03-08
  alphaforge ingest --source synthetic --start 2024-03-04 --end 2024-03-05""")
def ingest(
    start: Annotated[str, typer.Option(help="First UTC day.", metavar=DAY, show_default=False)],
    end: Annotated[str, typer.Option(help="Last UTC day (included).", metavar=DAY, show_default=False)],
    symbols: Annotated[str, typer.Option(help="Comma separated, e.g. EURUSD,GBPJPY.")] = "EURUSD",
    source: Annotated[Source, typer.Option(
        help="dukascopy: the Dukascopy datafeed; synthetic: generated, offline.")] = "dukascopy",
    force: Annotated[bool, typer.Option("--force", help="Re-ingest days already stored.")] = False,
) -> None:
    """Download ticks and build bars and features for a date range.

    Each (day, symbol) is one Dagster partition. Days already stored are
    skipped, so running the same command again retries only what failed.
    """
    _run("ingest", lambda: commands.ingest(symbols, start, end, source, force))


@app.command(rich_help_panel=PIPELINE, epilog="Example: alphaforge train --start 2024-03-04")
def train(
    start: Annotated[str, typer.Option(help="First training day (default: the first stored).",
                                       metavar=DAY, show_default=False)] = "",
    end: Annotated[str, typer.Option(help="Last training day (default: the last stored).",
                                     metavar=DAY, show_default=False)] = "",
) -> None:
    """Fit each model family, evaluate out of sample, promote the best.

    Fits each family on the stored features, registers the models in MLflow
    and makes the best one @champion if it passes the promotion gate. Run
    ingest first.
    """
    _run("train", lambda: commands.train(start, end))


@app.command(rich_help_panel=PIPELINE, epilog="Example: alphaforge promote 3")
def promote(
    version: Annotated[int, typer.Argument(help="The MLflow model version number.", min=1,
                                           show_default=False)],
    oos_start: Annotated[str, typer.Option(
        help="First out-of-sample day (default: from the version's lineage).", metavar=DAY,
        show_default=False)] = "",
) -> None:
    """Evaluate one registered model version; promote it if it passes.

    Re-runs the out-of-sample evaluation of that version and moves @champion
    to it when it clears the promotion gate; prints whether it did.
    """
    _run("promote", lambda: commands.promote(version, oos_start))


app.add_typer(backtest_app, rich_help_panel=PIPELINE)


@app.command(rich_help_panel=PIPELINE, epilog="""Examples:

  alphaforge optimise --method optuna
  alphaforge optimise --symbol GBPJPY --start 2024-03-04 --end 2024-03-08 --train-bars 3000""")
def optimise(
    symbol: Annotated[str, typer.Option(help="Instrument whose stored 1m bars are used.")] = "EURUSD",
    method: Annotated[Literal["grid", "optuna"], typer.Option(
        help="grid: every fast/slow pair; optuna: a sampled search.")] = "grid",
    trials: Annotated[int, typer.Option(help="Optuna trials (with --method optuna).", min=1)] = 20,
    start: Annotated[str, typer.Option(help="First stored day to use (default: the first).",
                                       metavar=DAY, show_default=False)] = "",
    end: Annotated[str, typer.Option(help="Last stored day to use (default: the last).",
                                     metavar=DAY, show_default=False)] = "",
    train_bars: Annotated[int, typer.Option(
        help="In-sample bars per fold (default: 5000, or half the bars when fewer are stored).",
        min=0, show_default=False)] = 0,
    test_bars: Annotated[int, typer.Option(
        help="Out-of-sample bars per fold, also the roll step (default: 1000, or a quarter).",
        min=0, show_default=False)] = 0,
) -> None:
    """Walk-forward parameter search of the SMA-cross strategy.

    Searches the fast/slow windows on the stored bars, walk-forward, and logs
    every candidate, the heatmap and the overfitting statistics to MLflow (see
    them with make mlflow). Run ingest first.
    """
    _run("optimise", lambda: commands.optimise(symbol, method, trials, start, end, train_bars, test_bars))


@app.command(rich_help_panel=PIPELINE, epilog="""Example:

  REALTIME_API_KEY=k7Rq2vXe9pLm4sTz alphaforge serve --port 8000   # pick your own key""")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
) -> None:
    """The realtime API (signals, orders) on http://127.0.0.1:8000.

    Serves the @champion model's signals and the order endpoints until Ctrl-C;
    the OpenAPI docs are at /docs. Needs REALTIME_API_KEY (12+ characters),
    which clients send as X-API-Key; without it, exits with status 2.
    """
    _run("serve", lambda: commands.serve(host, port))


app.command("demo", rich_help_panel=START_HERE, epilog=demo.EPILOG)(demo.demo_command)
app.command("inspect", rich_help_panel=TOOLS, epilog=inspect_cli.EPILOG)(inspect_cli.inspect_command)


def main(argv: list[str] | None = None) -> int:
    """Run the ``alphaforge`` command line on ``argv`` (default: sys.argv); return the exit status."""
    logs.configure(verbose=False)
    try:
        app(args=argv, prog_name="alphaforge")
    except SystemExit as exc:  # typer always ends this way
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
