"""The per-day steps of an ingestion: fetch a day's hours, decode and write them, and record
each day's outcome in an :class:`IngestReport`. ``marketdata.ingest`` schedules them."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from marketdata.bi5 import day_tick_columns, day_ticks_frame
from marketdata.datafeed import day_hours, epoch_ms
from marketdata.errors import MarketDataError
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


def fetch_and_write_day(
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
        raise MarketDataError(failure_text(raised))
    return write_day(store, symbol, day, records, scale)


def failure_text(raised: Sequence[BaseException]) -> str:
    """The first failed hour's error, and how many more hours failed."""
    more = f" (and {len(raised) - 1} more failed hours)" if len(raised) > 1 else ""
    return f"{raised[0]}{more}"


def day_records(
    symbol: str, day: dt.date, futures: list[Future], report: IngestReport
) -> list[np.ndarray] | None:
    """The 24 hours of ``day``, or ``None`` (recorded as a failure) when any of them failed."""
    wait(futures)  # every hour finishes (and lands in a cache) even when one has failed
    raised = [exc for f in futures if (exc := f.exception()) is not None]
    for exc in raised:
        if not isinstance(exc, (MarketDataError, OSError)):
            raise exc  # a bug, not a bad hour: do not hide it in the report
    if raised:
        report.failed[day] = failure_text(raised)
        log.error("%s %s not ingested: %s", symbol, day, report.failed[day])
        return None
    return [f.result() for f in futures]


def write_day(
    store: TickBarStore, symbol: str, day: dt.date, records: list[np.ndarray], scale: float
) -> int:
    """Decode ``day``'s hourly records and store them; the number of ticks written."""
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


def is_ready(job: Future | None) -> bool:
    """Whether a day's write has finished (a failed day has none to wait for)."""
    return job is None or job.done()


def record_written(
    symbol: str, day: dt.date, future: Future | None, report: IngestReport
) -> tuple[dt.date, int | None]:
    """Record how ``day``'s write ended in ``report``: (day, ticks written or None)."""
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
