"""Streaming tick ingestion: hourly ``.bi5`` files into a store, one UTC day at a time.

``ingest_days`` works with any source of hourly tick records (``DukascopyClient`` over HTTP,
``LocalDatafeed`` over a folder), in a bounded thread pool (``lzma``, the HTTP client, numpy and
pyarrow release the GIL, so the work really runs in parallel). A network source's hours are
fetched concurrently, and each finished day is decoded and written as one more task. A source
whose hours are CPU-bound (``parallel_hours = False``: files on disk) gets one task per day
instead, which reads, decompresses, decodes and writes the whole day on one thread: no
hand-over between threads per hour, so less of the CPU goes to anything but the work. Only a
few days are in flight at once, so memory does not grow with the range.

A day is written whole or not at all: if any of its hours fails (after the source's own
retries), the day is reported failed with the errors naming the files, nothing is written for
it, and the other days carry on. Re-running retries exactly the failed days (``skip_existing``)
and, with a client cache, downloads only the hours that are still missing.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait

from marketdata.datafeed import day_hours
from marketdata.day_steps import (
    DayCallback,
    HourSource,
    IngestReport,
    day_records,
    fetch_and_write_day,
    is_ready,
    record_written,
    write_day,
)
from marketdata.instruments import get_instrument
from marketdata.store import TickBarStore

log = logging.getLogger(__name__)


def ingest_days(
    source: HourSource,
    store: TickBarStore,
    symbol: str,
    days: Iterable[dt.date],
    max_workers: int = 4,
    lookahead: int = 1,
    skip_existing: bool = False,
    on_day: DayCallback | None = None,
) -> IngestReport:
    """Fetch, decode and store the ticks of ``days`` for ``symbol``; never raises per day.

    ``lookahead`` days beyond the one being written are fetched ahead, which keeps the pool
    busy while a day is decoded and written. ``on_day(day, ticks_or_None, report)`` is called
    after each day, in day order (``None`` when it failed), e.g. for a progress bar.
    """
    scale = get_instrument(symbol).price_scale
    report = IngestReport(symbol.upper())
    done = set(store.days("ticks", symbol)) if skip_existing else set()
    todo = iter(days)
    started = time.perf_counter()
    workers = max(1, max_workers)
    if not getattr(source, "parallel_hours", True):
        # Two days per thread in flight: a thread that finishes a short day (a weekend) takes
        # the next one while the oldest, which is reported first, still runs elsewhere.
        in_flight = 2 * workers + lookahead
        with ThreadPoolExecutor(workers, thread_name_prefix="ingest") as pool:
            _whole_days(pool, in_flight, source, store, symbol, todo, done, scale, report, on_day)
        report.seconds = time.perf_counter() - started
        _log_report(report)
        return report
    with ThreadPoolExecutor(workers, thread_name_prefix="ingest") as pool:

        def fetch_next() -> tuple[dt.date, list[Future]] | None:
            for day in todo:
                if day in done:
                    report.skipped.append(day)
                    continue
                return day, [pool.submit(source.fetch_hour_records, symbol, h) for h in day_hours(day)]
            return None

        def finish(day: dt.date, ticks: int | None) -> None:
            if on_day is not None:
                on_day(day, ticks, report)

        fetching: deque[tuple[dt.date, list[Future]]] = deque()
        writing: deque[tuple[dt.date, Future | None]] = deque()
        while len(fetching) <= lookahead and (nxt := fetch_next()) is not None:
            fetching.append(nxt)
        while fetching:
            day, futures = fetching.popleft()
            if (nxt := fetch_next()) is not None:
                fetching.append(nxt)
            records = day_records(symbol, day, futures, report)
            # Decode and write in the pool too: numpy and pyarrow release the GIL, so the
            # writes of one day overlap the decompression of the next. A failed day queues
            # ``None`` so that ``on_day`` still sees the days in order.
            job = None if records is None else pool.submit(write_day, store, symbol, day, records, scale)
            writing.append((day, job))
            while writing and (len(writing) > workers or is_ready(writing[0][1])):
                finish(*record_written(symbol, *writing.popleft(), report))
        while writing:
            finish(*record_written(symbol, *writing.popleft(), report))
    report.seconds = time.perf_counter() - started
    _log_report(report)
    return report


def _log_report(report: IngestReport) -> None:
    log.info(
        "ingested %s: %d days, %d ticks, %d failed in %.1fs",
        report.symbol,
        len(report.written),
        report.ticks,
        len(report.failed),
        report.seconds,
    )


def _whole_days(
    pool: ThreadPoolExecutor,
    in_flight: int,
    source: HourSource,
    store: TickBarStore,
    symbol: str,
    todo: Iterator[dt.date],
    done: set[dt.date],
    scale: float,
    report: IngestReport,
    on_day: DayCallback | None,
) -> None:
    """One task per day (fetch, decode, write), ``in_flight`` days at most, reported in order."""

    def submit_next() -> tuple[dt.date, Future] | None:
        for day in todo:
            if day in done:
                report.skipped.append(day)
                continue
            return day, pool.submit(fetch_and_write_day, source, store, symbol, day, scale)
        return None

    pending: deque[tuple[dt.date, Future]] = deque()
    while len(pending) < in_flight and (nxt := submit_next()) is not None:
        pending.append(nxt)
    while pending:
        day, job = pending.popleft()
        wait([job])  # before submitting the next day, so no more than in_flight are held
        if (nxt := submit_next()) is not None:
            pending.append(nxt)
        day, ticks = record_written(symbol, day, job, report)
        if on_day is not None:
            on_day(day, ticks, report)


__all__ = ["DayCallback", "HourSource", "IngestReport", "ingest_days"]
