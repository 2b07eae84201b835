"""``alphaforge backtest sma-cross``: an SMA crossover backtest of a bars file or of a symbol's
stored bars over a date range, printed as a summary or JSON, optionally with an HTML tearsheet.

Fills at the next bar's open (buy at the ask, sell at the bid); plain OHLC files (Open/High/Low/
Close, as in backtesting.py's data) are mid prices with zero spread. The crossover tie rule is in
:mod:`ml.backtest.strategies`.
"""

from __future__ import annotations

import json
import logging
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from cli import backtest_data
from cli.errors import CLIError, InputError
from marketdata.errors import UnknownSymbolError
from marketdata.instruments import get_instrument
from ml.backtest.bars import load_bars
from ml.backtest.engine import BacktestResult, run_backtest
from ml.backtest.errors import BacktestError
from ml.backtest.strategies import sma_cross_signal
from ml.costs import CostModel

log = logging.getLogger(__name__)

EXIT_BAD_INPUT = 2

# backtesting.py's default order size: all of the equity, less one ulp
BACKTESTING_PY_FULL_EQUITY = 1 - sys.float_info.epsilon


def read_bars(path: Path) -> pd.DataFrame:
    """Read a .csv or .parquet bars file; a CSV without ``ts`` is indexed by its first column."""
    if not path.is_file():
        raise BacktestError(f"bars file not found: {path}")
    if path.suffix.lower() == ".parquet":
        df = pd.read_parquet(path)
    elif path.suffix.lower() == ".csv":
        df = pd.read_csv(path)
        if "ts" not in df.columns:
            first = df.columns[0]
            try:
                df.index = pd.DatetimeIndex(pd.to_datetime(df.pop(first)))
            except (ValueError, TypeError) as exc:
                raise BacktestError(f"first column of {path} is not a time: {exc}") from exc
    else:
        raise BacktestError(f"bars file must be .csv or .parquet, got {path.name}")
    return df


def _jsonable(value: Any) -> Any:
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return _jsonable(value.item())
    return value


def result_json(result: BacktestResult) -> dict[str, Any]:
    """The CLI's JSON document: closed and open trades, final equity and every metric."""
    def records(df: pd.DataFrame) -> list[dict[str, Any]]:
        return [{k: _jsonable(v) for k, v in row.items()} for row in df.to_dict("records")]

    return {
        "trades": records(result.trades),
        "open_trades": records(result.open_trades),
        "final_equity": float(result.equity.iloc[-1]),
        "metrics": {k: _jsonable(v) for k, v in result.metrics.items()},
    }


def run_sma_cross(bars_path: Path | None, fast: int | None, slow: int | None, *, long_only: bool = False,
                  units: float | None = None, cash: float = 10_000.0, commission: float = 0.0,
                  symbol: str = "EURUSD", swap: bool = False, close_at_end: bool = False,
                  as_json: bool = False, start: str = "", end: str = "", report: Path | None = None) -> int:
    """Backtest an SMA cross on the bars file, or on ``symbol``'s stored bars from ``start`` to
    ``end``, print the result and write the ``report`` tearsheet; returns the exit status.

    ``units=None`` buys as many units as the equity allows (backtesting.py's default sizing);
    windows left out are sized to the bars (:func:`cli.backtest_data.sma_windows`).
    """
    try:
        if report is not None:
            backtest_data.check_report_path(report)
        if bars_path is not None and (start or end):
            raise InputError("--start/--end pick stored bars: use them without --bars, or give only --bars")
        bars = read_bars(bars_path) if bars_path is not None else backtest_data.store_bars(symbol, start, end)
        b = load_bars(bars)
        fast, slow = backtest_data.sma_windows(len(b), fast, slow)
        signal = sma_cross_signal(b.mid_close, fast, slow, long_only=long_only)
        costs = CostModel(commission_rate=commission, apply_swap=swap)
        sizing: dict[str, Any] = (
            {"units": units} if units is not None else {"all_in": BACKTESTING_PY_FULL_EQUITY}
        )
        instrument = get_instrument(symbol)
        result = run_backtest(bars, signal, instrument, costs, cash=cash,
                              close_at_end=close_at_end, **sizing)
        if report is not None:
            title = f"SMA cross {fast}/{slow} on {instrument.symbol}"
            backtest_data.write_report(report, title, instrument.symbol, result, b)
    except (BacktestError, UnknownSymbolError) as exc:
        print(f"alphaforge backtest sma-cross: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except CLIError as exc:
        log.info("alphaforge backtest sma-cross failed", exc_info=True)
        print(f"alphaforge backtest sma-cross: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT if isinstance(exc, InputError) else exc.exit_code
    doc = result_json(result)
    if as_json:
        print(json.dumps(doc))
    else:
        m = result.metrics
        print(f"trades={len(result.trades)} final_equity={doc['final_equity']:.2f} "
              f"return={m['total_return']:.4%} sharpe={m['sharpe']:.2f} "
              f"max_dd={m['max_drawdown']:.2%} (sma {fast}/{slow} on {len(b)} bars)")
    if report is not None:
        print(f"tearsheet: {report}", file=sys.stderr if as_json else sys.stdout)
    return 0


app = typer.Typer(
    name="backtest",
    help="Backtest a strategy on a bars file or on a symbol's stored bars; print trades and "
         "metrics, optionally write an HTML tearsheet.\n\n"
         "Works on any .csv or .parquet bars file, not only alphaforge's lake.",
    no_args_is_help=True,
)
DAY = "YYYY-MM-DD"


@app.command("sma-cross", epilog="""Examples:

  alphaforge backtest sma-cross --symbol EURUSD --start 2019-02-04 --end 2019-02-05 \\
      --report eurusd.html
  alphaforge backtest sma-cross --bars eurusd_h1.csv --fast 10 --slow 30
  alphaforge backtest sma-cross --bars bars.parquet --fast 5 --slow 20 \\
      --units 10000 --commission 0.0002 --json""")
def sma_cross(
    bars: Annotated[Path | None, typer.Option(
        help="Bars file, .csv or .parquet: bid/ask OHLC columns with a ts column, or plain "
             "Open/High/Low/Close indexed by time (read as mid prices, zero spread). Without it, "
             "the stored 1-minute bars of --symbol are used.",
        show_default=False)] = None,
    fast: Annotated[int | None, typer.Option(
        help="Fast moving-average window, in bars (default: 10, or scaled down to few bars).",
        show_default=False)] = None,
    slow: Annotated[int | None, typer.Option(
        help="Slow moving-average window, in bars; must differ from --fast (default: 30, or a "
             "tenth of the bars when there are fewer than 300).", show_default=False)] = None,
    long_only: Annotated[bool, typer.Option(
        "--long-only", help="Go flat on a cross down instead of short.")] = False,
    units: Annotated[float | None, typer.Option(
        help="Fixed units per trade, e.g. 10000.", show_default=False)] = None,
    all_in: Annotated[bool, typer.Option(
        "--all-in", help="As many whole units as the equity buys, net of commission "
                         "(the default; not with --units).")] = False,
    cash: Annotated[float, typer.Option(help="Starting equity.")] = 10_000.0,
    commission: Annotated[float, typer.Option(
        help="Fraction of traded value charged per side, e.g. 0.0002.")] = 0.0,
    symbol: Annotated[str, typer.Option(
        help="Instrument: pip size, overnight swaps and, without --bars, whose stored bars.")] = "EURUSD",
    start: Annotated[str, typer.Option(help="First stored day (without --bars; default: the first).",
                                       metavar=DAY, show_default=False)] = "",
    end: Annotated[str, typer.Option(help="Last stored day (without --bars; default: the last).",
                                     metavar=DAY, show_default=False)] = "",
    swap: Annotated[bool, typer.Option("--swap", help="Charge the instrument's overnight swap.")] = False,
    close_at_end: Annotated[bool, typer.Option(
        "--close-at-end", help="Close an open position at the last close (default: mark it to "
                               "market and list it under open trades).")] = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the whole result (trades, open trades, metrics) as one JSON "
                       "document instead of a one-line summary.")] = False,
    report: Annotated[Path | None, typer.Option(
        help="Write the tearsheet (equity and drawdown, trades on price, monthly returns, rolling "
             "Sharpe, cost breakdown) to this .html file.", metavar="FILE.html",
        show_default=False)] = None,
) -> None:
    """SMA crossover of the close; orders fill at the next bar's open.

    Goes long after the fast average crosses above the slow one and short
    (flat with --long-only) after it crosses below; a touch is not a cross.
    Buys fill at the ask and sells at the bid. Reads a bars file, or the
    stored 1-minute bars of --symbol from --start to --end. Prints a one-line
    summary (trades, final equity, return, Sharpe, max drawdown) or, with
    --json, every trade and metric; --report writes the HTML tearsheet. A
    missing or malformed bars file, an unknown symbol or a range with no
    stored bars exits non-zero with a one-line message on stderr.
    """
    if units is not None and all_in:
        raise typer.BadParameter("use one of them, not both", param_hint="'--units' / '--all-in'")
    code = run_sma_cross(bars, fast, slow, long_only=long_only, units=units, cash=cash,
                         commission=commission, symbol=symbol, swap=swap,
                         close_at_end=close_at_end, as_json=as_json, start=start, end=end, report=report)
    if code:
        raise typer.Exit(code)
