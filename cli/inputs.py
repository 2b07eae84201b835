"""Command-line values as the pipeline wants them; a bad one is an :class:`InputError`."""

from __future__ import annotations

import datetime as dt

from cli.errors import InputError
from marketdata.errors import UnknownSymbolError
from marketdata.instruments import get_instrument


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
