"""What ``alphaforge backtest`` reads and writes besides a bars file: a symbol's bars from the store
over a date range, SMA windows sized to the bars, and the tearsheet HTML of ``--report``."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from cli import checks, inputs
from cli.errors import InputError
from ml.backtest.bars import BidAskBars
from ml.backtest.engine import BacktestResult

log = logging.getLogger(__name__)

# The windows used when the bars allow them; fewer bars get windows scaled to their length.
DEFAULT_FAST, DEFAULT_SLOW = 10, 30


def store_bars(symbol: str, start: str = "", end: str = "") -> pd.DataFrame:
    """The stored 1-minute bars of ``symbol`` from ``start`` to ``end`` (default: every stored day),
    read through the MarketStore API; an unknown symbol, a bad range or no bars is a CLIError."""
    (name,) = inputs.symbols(symbol)
    first = inputs.parse_day(start, "--start") if start else None
    last = inputs.parse_day(end, "--end") if end else None
    if first and last and last < first:
        raise InputError(f"--end {end} is before --start {start}")
    store, days = checks.stored_days(name, first, last)
    bars = store.read_bars(name, days[0], days[-1])
    log.info("read %d bars of %s from %s to %s", len(bars), name, days[0], days[-1])
    return bars


def sma_windows(n_bars: int, fast: int | None, slow: int | None) -> tuple[int, int]:
    """(fast, slow): the ones given; else 10 and 30 bars when there are at least ten times the
    slow window, else a tenth and a thirtieth of the bars (at least 2 and 3)."""
    if fast is not None and slow is not None:
        return fast, slow
    if slow is None:
        slow = DEFAULT_SLOW if n_bars >= 10 * DEFAULT_SLOW else max(3, n_bars // 10)
    if fast is None:
        fast = min(DEFAULT_FAST, max(2, slow // 3))
    return fast, slow


def price_frame(bars: BidAskBars) -> pd.DataFrame:
    """The bid/ask closes with their times, as the tearsheet's price panel reads them (plain OHLC
    files included, whose bid and ask are the mid less and plus half the spread)."""
    return pd.DataFrame({"ts": bars.index, "bid_close": bars.bid["close"], "ask_close": bars.ask["close"]})


def check_report_path(path: Path) -> None:
    """Refuse a ``--report`` that is not an .html file or whose folder does not exist, before
    the backtest runs."""
    if path.suffix.lower() not in {".html", ".htm"}:
        raise InputError(f"--report {path} must name an .html file")
    if not path.parent.is_dir():
        raise InputError(f"--report {path}: folder {path.parent} does not exist")


def write_report(path: Path, title: str, symbol: str, result: BacktestResult, bars: BidAskBars) -> Path:
    """The backtest's tearsheet (equity and drawdown, trades on price, monthly returns, rolling
    Sharpe, cost breakdown) as one self-contained HTML page at ``path``."""
    from ml.report import build_tearsheet
    from ml.report.html import write_html

    check_report_path(path)
    sheet = build_tearsheet(title, {symbol: result}, {symbol: price_frame(bars)})
    return write_html(sheet, path)
