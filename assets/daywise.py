"""Ranged runs of the day x symbol assets: one run materialises many days, a day at a time.

A backfill of a symbol-year as 365 one-day runs pays Dagster's per-run overhead (seconds) 365
times; with :data:`DAILY_BACKFILL_POLICY` the daemon groups the requested days of one symbol into
runs of up to :data:`DAYS_PER_RUN` days, and the asset body walks its partition key range here.
Each day is still its own unit of work: it is logged as it goes, its quality checks run on its
own frame, and a day that fails (a corrupt datafeed file, a bad frame) does not lose the others.
The days done are recorded as materialisations of their own partitions before the run fails,
so a re-run (the same backfill again) only redoes what is missing.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from assets.instance import prepare_event_storage
from marketdata.errors import DatafeedUnavailableError, MarketDataError
from marketdata.quality import CheckResult
from ml.errors import MLError

# A quarter per run: a symbol-year is 4 runs, and a run holds a few days in memory at a time
# (the day being stored and the ones the ticks asset fetches ahead).
DAYS_PER_RUN = 92
DAILY_BACKFILL_POLICY = dg.BackfillPolicy.multi_run(max_partitions_per_run=DAYS_PER_RUN)
# Failures that belong to one day's data; anything else is a bug and stops the run at once.
DAY_ERRORS = (MarketDataError, MLError)
# What a ranged asset yields: the materialisations of the days done, then its result.
RangeEvents = Iterator[dg.AssetMaterialization | dg.MaterializeResult]


@dataclass
class DayDone:
    """What one day's work produced: rows written (or found), its checks, extra metadata."""

    rows: int
    checks: list[CheckResult] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    skipped: bool = False  # already stored; nothing fetched or written
    # A write still running (the asset's writer thread): the day counts once it has finished,
    # and it finishes while the next day is computed. Its error fails this day, not the next.
    pending: Future[None] | None = None


def partition_days(context: dg.AssetExecutionContext) -> list[tuple[str, dt.date, str]]:
    """(partition key, day, symbol) of every partition this run materialises, in key order."""
    out = []
    for key in context.partition_keys:
        mpk = key if isinstance(key, dg.MultiPartitionKey) else None
        dims = (mpk.keys_by_dimension if mpk
                else dict(zip(["date", "symbol"], str(key).split("|"), strict=True)))
        out.append((str(key), dt.date.fromisoformat(dims["date"]), dims["symbol"]))
    return out


def each_day(context: dg.AssetExecutionContext, work: Callable[[dt.date, str], DayDone]
             ) -> Generator[dg.AssetMaterialization, None, dict[str, DayDone]]:
    """Run ``work`` for every day of the run's range; return the results by partition key.

    A day raising one of :data:`DAY_ERRORS` is logged and the rest go on. If any failed, the
    days done are yielded as materialisations of their own partitions (use ``yield from``) and
    the step fails with every failed day and its cause; only an outage is worth a step retry.
    """
    days = partition_days(context)
    prepare_event_storage(context.instance)  # each day stores events: one connection, batched
    done: dict[str, DayDone] = {}
    failed: dict[str, MarketDataError | MLError] = {}
    started = time.perf_counter()
    name = context.asset_key.to_user_string()

    def settle(i: int, key: str, result: DayDone | MarketDataError | MLError) -> None:
        if isinstance(result, DayDone) and result.pending is not None:
            try:
                result.pending.result()
            except DAY_ERRORS as exc:
                result = exc
            else:
                result.pending = None
        if not isinstance(result, DayDone):
            failed[key] = result
            context.log.error("%s %s: day %d/%d failed: %s", name, key, i, len(days), result)
            return
        done[key] = result
        context.log.info("%s %s: day %d/%d %s %d rows (%.1fs so far)", name, key, i, len(days),
                         "already stored," if result.skipped else "wrote", result.rows,
                         time.perf_counter() - started)

    writing: tuple[int, str, DayDone] | None = None  # the day whose write is still running
    for i, (key, day, symbol) in enumerate(days, 1):
        try:
            result: DayDone | MarketDataError | MLError = work(day, symbol)
        except DAY_ERRORS as exc:
            result = exc
        if writing is not None:  # the previous day's write ran while this day was computed
            settle(*writing)
            writing = None
        if isinstance(result, DayDone) and result.pending is not None:
            writing = (i, key, result)
        else:
            settle(i, key, result)
    if writing is not None:
        settle(*writing)
    if failed:
        for key, result in done.items():
            yield dg.AssetMaterialization(context.asset_key, partition=key, metadata=day_metadata(result))
        causes = "; ".join(f"{key}: {exc}" for key, exc in failed.items())
        raise dg.Failure(
            description=f"{len(failed)} of {len(days)} days failed ({causes}); the other {len(done)} are "
                        "stored, and running the backfill again redoes only the failed days",
            metadata={"failed_days": sorted(failed), "stored_days": len(done)},
            allow_retries=any(isinstance(e, DatafeedUnavailableError) for e in failed.values()),
        )
    return done


def day_metadata(result: DayDone) -> dict[str, Any]:
    """A day's metadata, with its check outcomes, for the materialisation of its partition."""
    checks = {c.name: bool(c.passed) for c in result.checks}
    return {"dagster/row_count": result.rows, **result.metadata, "skipped": result.skipped,
            **({"checks_passed": dg.MetadataValue.json(checks)} if checks else {})}


def range_metadata(done: dict[str, DayDone]) -> dict[str, Any]:
    """Metadata of a run's materialisation: the day's own for one day, totals for a range."""
    if len(done) == 1:
        only = next(iter(done.values()))
        return {"dagster/row_count": only.rows, **only.metadata}
    return {"days": len(done), "days_skipped": sum(r.skipped for r in done.values()),
            "rows": sum(r.rows for r in done.values()),
            "rows_by_day": dg.MetadataValue.json({k: r.rows for k, r in done.items()})}


def combined_checks(done: dict[str, DayDone]) -> list[CheckResult]:
    """One result per check over the range: it passes when it passed on every checked day.

    For one day the day's own result; for a range, the failing days with their details.
    """
    by_name: dict[str, list[tuple[str, CheckResult]]] = {}
    for key, result in done.items():
        for c in result.checks:
            by_name.setdefault(c.name, []).append((key, c))
    out = []
    for name, results in by_name.items():
        if len(done) == 1:
            out.append(results[0][1])
            continue
        bad = {key: c.metadata for key, c in results if not c.passed}
        out.append(CheckResult(name, not bad, results[0][1].severity,
                               {"days_checked": len(results), "failed_days": sorted(bad), "failures": bad}))
    return out
