"""Days of ticks fetched ahead: the next days download while the caller stores the current one.

``fetch_days`` yields the tick frame (or the error) of each requested day, in order. With an
hour-level source (``DukascopyClient``, ``LocalDatafeed``) the hours of up to ``lookahead + 1``
days are fetched and decompressed in a bounded thread pool, as ``marketdata.ingest`` does, so
the network and ``lzma`` keep working while the caller writes and checks a day; memory stays
bounded by the days in flight, not by the range. Any other ``TickSource`` is asked a day at a
time. A day that fails carries its first error (a :class:`MarketDataError` naming the file);
the other days are unaffected. Errors that are not about the data (bugs) are raised at once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait

import pandas as pd

from marketdata.bi5 import day_ticks_frame
from marketdata.datafeed import day_hours, epoch_ms
from marketdata.errors import MarketDataError
from marketdata.instruments import get_instrument
from marketdata.sources import TickSource

log = logging.getLogger(__name__)

DayFrame = tuple[dt.date, pd.DataFrame | MarketDataError]


def fetch_days(source: TickSource, symbol: str, days: Iterable[dt.date],
               max_workers: int = 4, lookahead: int = 1) -> Iterator[DayFrame]:
    """(day, ticks) for every day of ``days`` in order; (day, error) for a day that failed."""
    fetch_hour = getattr(source, "fetch_hour_records", None)
    if fetch_hour is None:
        yield from _day_at_a_time(source, symbol, days)
        return
    scale = get_instrument(symbol).price_scale
    todo = iter(days)
    with ThreadPoolExecutor(max(1, max_workers), thread_name_prefix="prefetch") as pool:

        def submit(day: dt.date) -> tuple[dt.date, list[Future]]:
            return day, [pool.submit(fetch_hour, symbol, h) for h in day_hours(day)]

        fetching = deque(submit(d) for _, d in zip(range(lookahead + 1), todo, strict=False))
        while fetching:
            day, futures = fetching.popleft()
            if (nxt := next(todo, None)) is not None:
                fetching.append(submit(nxt))
            wait(futures)  # every hour finishes (and lands in the cache) even when one failed
            error = _first_error(futures)
            if error is not None:
                # The caller reports the failed day (the CLI in one line); here it is detail for -v.
                log.info("%s %s not fetched: %s", symbol, day, error)
                yield day, error
                continue
            hours = day_hours(day)
            yield day, day_ticks_frame([f.result() for f in futures], [epoch_ms(h) for h in hours], scale)


def _first_error(futures: list[Future]) -> MarketDataError | None:
    """The first failed hour's error; an OSError (e.g. writing the cache) fails the day too."""
    raised = [exc for f in futures if (exc := f.exception()) is not None]
    for exc in raised:
        if not isinstance(exc, MarketDataError | OSError):
            raise exc  # a bug, not a bad hour: do not hide it as a failed day
    if not raised:
        return None
    if len(raised) > 1:
        log.info("%d more hours of the same day failed", len(raised) - 1)
    first = raised[0]
    if isinstance(first, MarketDataError):
        return first
    error = MarketDataError(f"{type(first).__name__}: {first}")
    error.__cause__ = first
    return error


def _day_at_a_time(source: TickSource, symbol: str, days: Iterable[dt.date]) -> Iterator[DayFrame]:
    for day in days:
        try:
            yield day, source.fetch_day(symbol, day)
        except MarketDataError as exc:
            yield day, exc
