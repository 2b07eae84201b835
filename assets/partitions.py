"""Partitions: day x symbol for market data, configured from the environment at load time."""


import datetime as dt
import os

import dagster as dg

DEFAULT_SYMBOLS = "EURUSD,GBPJPY"
DEFAULT_START = "2012-12-01"


def configured_symbols() -> list[str]:
    """Symbols from ALPHAFORGE_SYMBOLS (comma separated)."""
    raw = os.environ.get("ALPHAFORGE_SYMBOLS", DEFAULT_SYMBOLS)
    return [s.strip().upper() for s in raw.split(",") if s.strip()]


daily = dg.DailyPartitionsDefinition(
    start_date=os.environ.get("ALPHAFORGE_PARTITION_START", DEFAULT_START), timezone="UTC"
)
symbols = dg.StaticPartitionsDefinition(configured_symbols())
day_x_symbol = dg.MultiPartitionsDefinition({"date": daily, "symbol": symbols})


def partition_day_symbol(context: dg.AssetExecutionContext) -> tuple[dt.date, str]:
    """(day, symbol) of the partition being materialised."""
    key = context.partition_key
    dims = key.keys_by_dimension if isinstance(key, dg.MultiPartitionKey) else dict(
        zip(["date", "symbol"], str(key).split("|"), strict=True)
    )
    return dt.date.fromisoformat(dims["date"]), dims["symbol"]
