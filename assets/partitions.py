"""Partitions: day x symbol for market data. The days are the ones ingested, the symbols configured.

The day dimension is dynamic: a day exists once something ingests it (``alphaforge ingest``, the
demo, a backfill, the daily schedule, or "add partition" in the Dagster UI), so the UI shows the
ingested range and automation never waits on years of days nobody asked for. Symbols come from
the environment or the caller's settings.
"""


import datetime as dt
import os
from collections.abc import Iterable, Sequence

import dagster as dg

DEFAULT_SYMBOLS = "EURUSD,GBPJPY"
DAYS = "days"  # the dynamic partitions' name in the Dagster instance

# Every day-partitioned asset shares this one set of days (market data and the daily brief).
daily = dg.DynamicPartitionsDefinition(name=DAYS)


def configured_symbols() -> list[str]:
    """Symbols from ALPHAFORGE_SYMBOLS (comma separated)."""
    raw = os.environ.get("ALPHAFORGE_SYMBOLS", DEFAULT_SYMBOLS)
    return [s.strip().upper() for s in raw.split(",") if s.strip()]


def day_x_symbol_for(symbol_names: Sequence[str]) -> dg.MultiPartitionsDefinition:
    """The ingested days (UTC) crossed with ``symbol_names``; keys read ``2019-02-04|EURUSD``."""
    return dg.MultiPartitionsDefinition({
        "date": daily,
        "symbol": dg.StaticPartitionsDefinition(list(symbol_names)),
    })


# What the code location (`dagster dev`, the code server) loads; callers with their own settings
# re-partition the market-data assets with orchestration.definitions.build_defs.
day_x_symbol = day_x_symbol_for(configured_symbols())
symbols = day_x_symbol.get_partitions_def_for_dimension("symbol")


def days_of(keys: Iterable[str | dg.MultiPartitionKey]) -> list[str]:
    """The distinct days of day x symbol partition keys, in order of first appearance."""
    out: dict[str, None] = {}
    for key in keys:
        day = str(key).split("|")[0]  # "date" sorts first among the dimensions
        try:  # a malformed day fails here, not in a run
            out[dt.date.fromisoformat(day).isoformat()] = None
        except ValueError as exc:
            raise ValueError(f"partition key {key!s}: {day!r} is not a YYYY-MM-DD day ({exc})") from None
    return list(out)


def add_days(instance: dg.DagsterInstance, days: Iterable[str | dt.date]) -> list[str]:
    """Add ``days`` to the instance's day partitions; return the ones that were new.

    The partitions stay in calendar order: a range of days (a ranged backfill run) is read in the
    stored order, so a day earlier than some known ones re-adds those after it.
    """
    wanted = [d.isoformat() if isinstance(d, dt.date) else dt.date.fromisoformat(d).isoformat() for d in days]
    known = list(instance.get_dynamic_partitions(DAYS))
    new = sorted(set(wanted) - set(known))
    if not new:
        return []
    later = [d for d in known if d > new[0]]
    for day in later:  # materialisations are kept: they belong to the key, not to its position
        instance.delete_dynamic_partition(DAYS, day)
    instance.add_dynamic_partitions(DAYS, sorted({*new, *later}))
    return new


def partition_day_symbol(context: dg.AssetExecutionContext) -> tuple[dt.date, str]:
    """(day, symbol) of the partition being materialised."""
    key = context.partition_key
    dims = key.keys_by_dimension if isinstance(key, dg.MultiPartitionKey) else dict(
        zip(["date", "symbol"], str(key).split("|"), strict=True)
    )
    return dt.date.fromisoformat(dims["date"]), dims["symbol"]
