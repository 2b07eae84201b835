"""Streaming tick ingestion: hourly ``.bi5`` files into a store, one UTC day at a time.

``ingest_days`` works with any source of hourly tick records (``DukascopyClient`` over HTTP,
``LocalDatafeed`` over a folder). Hours are fetched and decompressed in a bounded thread pool
(``lzma`` and the HTTP client release the GIL, so hours really run in parallel); the main
thread turns each finished day into one frame with whole-array numpy calls and writes it.
Only ``lookahead + 1`` days are in flight at once, so memory does not grow with the range.

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
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from marketdata.bi5 import day_ticks_frame
from marketdata.datafeed import day_hours, epoch_ms
from marketdata.errors import MarketDataError
from marketdata.instruments import get_instrument
from marketdata.store import TickBarStore

log = logging.getLogger(__name__)


class HourSource(Protocol):
    """Anything that hands over the validated tick records (``TICK_DTYPE``) of one hour."""

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
    log.info(
        "ingested %s: %d days, %d ticks, %d failed in %.1fs",
        report.symbol,
        len(report.written),
        report.ticks,
        len(report.failed),
        report.seconds,
    )
    return report


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
        more = f" (and {len(raised) - 1} more failed hours)" if len(raised) > 1 else ""
        report.failed[day] = f"{raised[0]}{more}"
        log.error("%s %s not ingested: %s", symbol, day, report.failed[day])
        return None
    return [f.result() for f in futures]


def _write_day(
    store: TickBarStore, symbol: str, day: dt.date, records: list[np.ndarray], scale: float
) -> int:
    frame = day_ticks_frame(records, [epoch_ms(h) for h in day_hours(day)], scale)
    store.write_ticks(symbol, day, frame)
    return len(frame)


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
