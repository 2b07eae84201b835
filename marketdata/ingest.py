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
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from marketdata.bi5 import day_tick_columns, day_ticks_frame
from marketdata.datafeed import day_hours, epoch_ms
from marketdata.errors import MarketDataError
from marketdata.instruments import get_instrument
from marketdata.store import TickBarStore

log = logging.getLogger(__name__)


class HourSource(Protocol):
    """Anything that hands over the validated tick records (``TICK_DTYPE``) of one hour.

    A source may set ``parallel_hours = False`` when its hours are CPU-bound (local files);
    without it, a day's hours are fetched concurrently, as a network source needs.
    """

    def fetch_hour_records(self, symbol: str, hour: dt.datetime) -> np.ndarray:
        """Records of ``hour``; raises a :class:`MarketDataError` naming the file on failure."""
        ...


@dataclass
class IngestReport:
    """What an ingestion did: days written (with tick counts), days skipped and days failed."""

    symbol: str
    written: dict[dt.date, int] = field(default_factory=dict)
    skipped: list[dt.date] = field(default_factory=list)
    failed: dict[dt.date, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ticks(self) -> int:
        """Ticks written in total."""
        return sum(self.written.values())

    @property
    def ok(self) -> bool:
        """True when no day failed."""
        return not self.failed


DayCallback = Callable[[dt.date, int | None, IngestReport], None]


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
            records = _day_records(symbol, day, futures, report)
            # Decode and write in the pool too: numpy and pyarrow release the GIL, so the
            # writes of one day overlap the decompression of the next. A failed day queues
            # ``None`` so that ``on_day`` still sees the days in order.
            job = None if records is None else pool.submit(_write_day, store, symbol, day, records, scale)
            writing.append((day, job))
            while writing and (len(writing) > workers or _ready(writing[0][1])):
                finish(*_written(symbol, *writing.popleft(), report))
        while writing:
            finish(*_written(symbol, *writing.popleft(), report))
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
            return day, pool.submit(_fetch_and_write_day, source, store, symbol, day, scale)
        return None

    pending: deque[tuple[dt.date, Future]] = deque()
    while len(pending) < in_flight and (nxt := submit_next()) is not None:
        pending.append(nxt)
    while pending:
        day, job = pending.popleft()
        wait([job])  # before submitting the next day, so no more than in_flight are held
        if (nxt := submit_next()) is not None:
            pending.append(nxt)
        day, ticks = _written(symbol, day, job, report)
        if on_day is not None:
            on_day(day, ticks, report)


def _fetch_and_write_day(
    source: HourSource, store: TickBarStore, symbol: str, day: dt.date, scale: float
) -> int:
    """Fetch every hour of ``day`` in turn, then write it; a failed hour fails the day."""
    records, raised = [], []
    for hour in day_hours(day):
        try:
            records.append(source.fetch_hour_records(symbol, hour))
        except (MarketDataError, OSError) as exc:  # the other hours still run, as in the pool
            raised.append(exc)
    if raised:
        raise MarketDataError(_failure(raised))
    return _write_day(store, symbol, day, records, scale)


def _failure(raised: Sequence[BaseException]) -> str:
    """The first failed hour's error, and how many more hours failed."""
    more = f" (and {len(raised) - 1} more failed hours)" if len(raised) > 1 else ""
    return f"{raised[0]}{more}"


def _day_records(
    symbol: str, day: dt.date, futures: list[Future], report: IngestReport
) -> list[np.ndarray] | None:
    """The 24 hours of ``day``, or ``None`` (recorded as a failure) when any of them failed."""
    wait(futures)  # every hour finishes (and lands in a cache) even when one has failed
    raised = [exc for f in futures if (exc := f.exception()) is not None]
    for exc in raised:
        if not isinstance(exc, (MarketDataError, OSError)):
            raise exc  # a bug, not a bad hour: do not hide it in the report
    if raised:
        report.failed[day] = _failure(raised)
        log.error("%s %s not ingested: %s", symbol, day, report.failed[day])
        return None
    return [f.result() for f in futures]


def _write_day(
    store: TickBarStore, symbol: str, day: dt.date, records: list[np.ndarray], scale: float
) -> int:
    starts = [epoch_ms(h) for h in day_hours(day)]
    write_columns = getattr(store, "write_tick_columns", None)
    if write_columns is None:
        frame = day_ticks_frame(records, starts, scale)
        store.write_ticks(symbol, day, frame)
        return len(frame)
    # A store that takes arrays (the Parquet lake) is spared building and checking a frame.
    cols = day_tick_columns(records, starts, scale)
    write_columns(symbol, day, cols)
    return len(cols["ts_ms"])


def _ready(job: Future | None) -> bool:
    return job is None or job.done()


def _written(
    symbol: str, day: dt.date, future: Future | None, report: IngestReport
) -> tuple[dt.date, int | None]:
    if future is None:  # its hours failed; already in report.failed
        return day, None
    exc = future.exception()
    if exc is None:
        report.written[day] = future.result()
        return day, report.written[day]
    if not isinstance(exc, MarketDataError):
        raise exc
    report.failed[day] = str(exc)
    log.error("%s %s not written: %s", symbol, day, exc)
    return day, None
