"""``alphaforge inspect``: decode a ``.bi5`` file to CSV on stdout.

The file's datafeed path (``EURUSD/2019/01/04/00h_ticks.bi5``, zero-based month) gives its
symbol, start time, kind and side; ``--symbol``, ``--start`` and ``--kind`` cover files kept
elsewhere. Bad input (unknown symbol, missing or corrupt file) exits with status 2 and a
one-line message on stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
import typer

from marketdata.bi5 import decode_candles, decode_ticks
from marketdata.datafeed import epoch_ms, parse_path
from marketdata.errors import MarketDataError
from marketdata.instruments import get_instrument

EXIT_BAD_INPUT = 2
Kind = Literal["ticks", "candles"]
EPILOG = """Examples:

  alphaforge inspect EURUSD/2019/01/04/00h_ticks.bi5 > ticks.csv
  alphaforge inspect hour.bi5 --symbol GBPJPY --start 2012-12-03T00:00"""


def inspect_command(
    file: Annotated[Path, typer.Argument(
        help="A .bi5 file: an hourly tick file (HHh_ticks.bi5) or a candle file "
             "(BID_candles_hour_1.bi5), ideally under its datafeed path.", show_default=False)],
    symbol: Annotated[str | None, typer.Option(
        help="Instrument, e.g. EURUSD (default: from the file's datafeed path).",
        show_default=False)] = None,
    start: Annotated[str | None, typer.Option(
        help="UTC start of the file's period, e.g. 2019-02-04T13:00, when its path does not say.",
        show_default=False)] = None,
    kind: Annotated[Kind | None, typer.Option(
        help="ticks or candles, when the path does not say (default: from the path, else ticks).",
        show_default=False)] = None,
) -> None:
    """Decode a Dukascopy .bi5 file to CSV on stdout.

    Prints one CSV row per tick or candle, times in epoch milliseconds (UTC),
    and a one-line summary on stderr. The datafeed path (zero-based month, as
    in EURUSD/2019/01/04/00h_ticks.bi5) gives the symbol, start time, kind and
    side; pass --symbol, --start and --kind for files kept elsewhere. Bad input
    (unknown symbol, missing or corrupt file) exits with status 2 and a
    one-line message on stderr.
    """
    code = run_inspect(file, symbol, start, kind)
    if code:
        raise typer.Exit(code)


def run_inspect(
    path: Path, symbol: str | None = None, start: str | None = None, kind: str | None = None
) -> int:
    """Print ``path`` as CSV on stdout and its summary on stderr; returns the exit status."""
    try:
        frame, summary = inspect_file(path, symbol, start, kind)
    except (MarketDataError, OSError, ValueError) as exc:
        print(f"alphaforge inspect: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    frame.to_csv(sys.stdout, index=False)
    print(summary, file=sys.stderr)
    return 0


def inspect_file(
    path: Path, symbol: str | None = None, start: str | None = None, kind: str | None = None
) -> tuple[pd.DataFrame, str]:
    """Decode ``path``; return the frame and a one-line summary of what it is."""
    info = parse_path(str(path))
    symbol = symbol or (info.symbol if info else None)
    if not symbol:
        raise ValueError(f"{path} is not in the datafeed layout: pass --symbol")
    inst = get_instrument(symbol)
    if info is not None and kind not in (None, info.kind):
        raise ValueError(f"{path} is a {info.kind} file by its path, not {kind}")
    kind = kind or (info.kind if info else "ticks")
    if start is not None:
        stamp = pd.Timestamp(start)
        start_ms = int((stamp if stamp.tzinfo else stamp.tz_localize("UTC")).value // 1_000_000)
    else:
        start_ms = epoch_ms(info.start) if info else 0
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    raw = path.read_bytes()
    frame = (decode_ticks if kind == "ticks" else decode_candles)(raw, start_ms, inst.price_scale)
    when = pd.Timestamp(start_ms, unit="ms", tz="UTC").isoformat()
    side = f" {info.side} {info.timeframe}" if info and info.side else ""
    return frame, f"{inst.symbol}{side} {kind} from {when}: {len(frame)} rows"
