"""``alphaforge backtest sma-cross``: an SMA crossover backtest of a bars file, printed as JSON.

Fills at the next bar's open (buy at the ask, sell at the bid); plain OHLC files (Open/High/Low/
Close, as in backtesting.py's data) are mid prices with zero spread. The crossover tie rule is in
:mod:`ml.backtest.strategies`.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from marketdata.errors import UnknownSymbolError
from marketdata.instruments import get_instrument
from ml.backtest.bars import load_bars
from ml.backtest.costs import CostModel
from ml.backtest.engine import BacktestResult, run_backtest
from ml.backtest.errors import BacktestError
from ml.backtest.strategies import sma_cross_signal

log = logging.getLogger(__name__)

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


def run_sma_cross(args: argparse.Namespace) -> int:
    """Run the sma-cross subcommand; returns the exit code."""
    try:
        bars = read_bars(Path(args.bars))
        b = load_bars(bars)
        signal = sma_cross_signal(b.mid_close, args.fast, args.slow, long_only=args.long_only)
        costs = CostModel(commission_rate=args.commission, apply_swap=args.swap)
        sizing: dict[str, Any] = (
            {"units": args.units} if args.units is not None
            else {"all_in": BACKTESTING_PY_FULL_EQUITY}
        )
        result = run_backtest(bars, signal, get_instrument(args.symbol), costs, cash=args.cash,
                              close_at_end=args.close_at_end, **sizing)
    except (BacktestError, UnknownSymbolError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    doc = result_json(result)
    if args.json:
        print(json.dumps(doc))
    else:
        m = result.metrics
        print(f"trades={len(result.trades)} final_equity={doc['final_equity']:.2f} "
              f"return={m['total_return']:.4%} sharpe={m['sharpe']:.2f} "
              f"max_dd={m['max_drawdown']:.2%}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``backtest sma-cross`` to the ``alphaforge`` CLI."""
    bt = subparsers.add_parser("backtest", help="backtest a strategy on a bars file")
    sub = bt.add_subparsers(dest="strategy", required=True)
    p = sub.add_parser("sma-cross", help="SMA crossover, strict crosses, fills at the next open",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bars", required=True, help="bars file (.csv or .parquet)")
    p.add_argument("--fast", type=int, required=True)
    p.add_argument("--slow", type=int, required=True)
    p.add_argument("--long-only", action="store_true", help="exit to flat on a cross down")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--units", type=float, help="fixed units per trade")
    size.add_argument("--all-in", action="store_true",
                      help="as many whole units as equity buys, net of commission (default)")
    p.add_argument("--cash", type=float, default=10_000.0)
    p.add_argument("--commission", type=float, default=0.0,
                   help="fraction of traded value per side, e.g. 0.0002")
    p.add_argument("--symbol", default="EURUSD", help="instrument (pip size, swaps)")
    p.add_argument("--swap", action="store_true", help="charge the instrument's overnight swap")
    p.add_argument("--close-at-end", action="store_true",
                   help="close an open position at the last close (default: mark it to market)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON document")
    p.set_defaults(func=run_sma_cross)
