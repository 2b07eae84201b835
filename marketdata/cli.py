"""``alphaforge inspect``: decode a ``.bi5`` file to CSV on stdout.

The file's datafeed path (``EURUSD/2019/01/04/00h_ticks.bi5``, zero-based month) gives its
symbol, start time, kind and side; ``--symbol``, ``--start`` and ``--kind`` cover files kept
elsewhere. Bad input (unknown symbol, missing or corrupt file) exits with status 2 and a
one-line message on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from marketdata.bi5 import decode_candles, decode_ticks
from marketdata.datafeed import epoch_ms, parse_path
from marketdata.errors import MarketDataError
from marketdata.instruments import get_instrument

EXIT_BAD_INPUT = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the marketdata subcommands to the ``alphaforge`` parser."""
    p = subparsers.add_parser("inspect", help="decode a Dukascopy .bi5 file to CSV")
    p.add_argument("file", type=Path, help="an hourly tick file or a candle file")
    p.add_argument("--symbol", help="instrument (default: from the file's datafeed path)")
    p.add_argument("--start", help="UTC start of the file's period when its path does not say")
    p.add_argument("--kind", choices=["ticks", "candles"], help="when the path does not say")
    p.set_defaults(func=inspect_command)


def inspect_command(args: argparse.Namespace) -> int:
    """Run ``alphaforge inspect``; returns the exit status."""
    try:
        frame, summary = inspect_file(args.file, args.symbol, args.start, args.kind)
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
