"""Partitions: day x symbol for market data, from the environment or from the caller's settings."""


import datetime as dt
import os
from collections.abc import Sequence

import dagster as dg

DEFAULT_SYMBOLS = "EURUSD,GBPJPY"
DEFAULT_START = "2012-12-01"


def configured_symbols() -> list[str]:
    """Symbols from ALPHAFORGE_SYMBOLS (comma separated)."""
    raw = os.environ.get("ALPHAFORGE_SYMBOLS", DEFAULT_SYMBOLS)
    return [s.strip().upper() for s in raw.split(",") if s.strip()]


def configured_start() -> str:
    """First day of the daily partitions (ALPHAFORGE_PARTITION_START, ISO date)."""
    return os.environ.get("ALPHAFORGE_PARTITION_START", DEFAULT_START)


def day_x_symbol_for(symbol_names: Sequence[str], start: str) -> dg.MultiPartitionsDefinition:
    """Daily partitions from ``start`` (UTC) crossed with ``symbol_names``."""
    return dg.MultiPartitionsDefinition({
        "date": dg.DailyPartitionsDefinition(start_date=start, timezone="UTC"),
        "symbol": dg.StaticPartitionsDefinition(list(symbol_names)),
    })


# What the code location (`dagster dev`, the code server) loads; callers with their own settings
# re-partition the market-data assets with orchestration.definitions.build_defs.
day_x_symbol = day_x_symbol_for(configured_symbols(), configured_start())
daily = day_x_symbol.get_partitions_def_for_dimension("date")
symbols = day_x_symbol.get_partitions_def_for_dimension("symbol")


def partition_day_symbol(context: dg.AssetExecutionContext) -> tuple[dt.date, str]:
    """(day, symbol) of the partition being materialised."""
    key = context.partition_key
    dims = key.keys_by_dimension if isinstance(key, dg.MultiPartitionKey) else dict(
        zip(["date", "symbol"], str(key).split("|"), strict=True)
    )
    return dt.date.fromisoformat(dims["date"]), dims["symbol"]
