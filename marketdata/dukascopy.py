"""A client for Dukascopy's public ``.bi5`` datafeed with retries, rate limiting and a file cache.

The raw files are cached under ``cache_dir`` in the datafeed's own layout, written atomically
(temp file, then ``os.replace``), so a re-run downloads nothing and an interrupted backfill
resumes where it stopped. An empty body is the datafeed's answer for an hour without ticks.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import random
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import httpx
import numpy as np
import pandas as pd

from marketdata.bi5 import day_ticks_frame, decode_candles, hour_tick_records
from marketdata.datafeed import (
    DEFAULT_BASE_URL,
    as_utc,
    candles_path,
    day_hours,
    epoch_ms,
    hour_path,
)
from marketdata.errors import (
    CorruptFileError,
    DatafeedNotFoundError,
    DatafeedUnavailableError,
)
from marketdata.instruments import get_instrument

log = logging.getLogger(__name__)

_RETRY_STATUSES = {429, 500, 502, 503, 504}
T = TypeVar("T")


class RateLimiter:
    """Spaces calls at least ``1 / rate`` seconds apart across threads."""

    def __init__(self, rate_per_s: float | None):
        self.interval = 1.0 / rate_per_s if rate_per_s else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until the next call may start."""
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _as_is(body: bytes) -> bytes:
    return body


def _complete(hour: dt.datetime) -> bool:
    """Whether ``hour`` is over; an hour still running may grow, so it is never cached."""
    return as_utc(hour) + dt.timedelta(hours=1) <= dt.datetime.now(dt.UTC)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The verifying TLS context every client shares: httpx's default (certifi's CA bundle, or
    SSL_CERT_FILE / SSL_CERT_DIR), built once per process. Each client building its own loads
    the bundle again, ~30-60 ms, and a backfill makes a client per run."""
    return httpx.create_ssl_context()


class DukascopyClient:
    """Downloads and decodes ``.bi5`` files from the Dukascopy datafeed (or a mirror of it)."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        cache_dir: Path | None = None,
        timeout: float = 10.0,
        max_workers: int = 4,
        retries: int = 4,
        backoff: float = 0.5,
        rate_limit_per_s: float | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.max_workers = max(1, max_workers)
        self.retries = max(0, retries)
        self.backoff = backoff
        self._limiter = RateLimiter(rate_limit_per_s)
        self._http = httpx.Client(
            verify=_tls_context(),
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=self.max_workers),
            headers={"User-Agent": "alphaforge-marketdata"},
        )

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> DukascopyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- raw files ---------------------------------------------------------------------------

    def fetch_path(self, rel_path: str, cacheable: bool = True) -> bytes:
        """Return the bytes of one datafeed file, from the cache when present."""
        cached = self.cache_dir / rel_path if self.cache_dir is not None else None
        if cached is not None and cached.is_file():
            return cached.read_bytes()
        data, _ = self._download(f"{self.base_url}/{rel_path}", _as_is)
        if cached is not None and cacheable:
            write_atomic(cached, data)
        return data

    def fetch_hour(self, symbol: str, hour: dt.datetime) -> bytes:
        """Raw (compressed) bytes of one hourly tick file; empty for an hour without ticks."""
        return self.fetch_path(hour_path(symbol, hour), cacheable=_complete(hour))

    def fetch_hour_records(self, symbol: str, hour: dt.datetime) -> np.ndarray:
        """The decoded, validated tick records of one hour (see :func:`hour_tick_records`).

        A body that does not decode (a truncated LZMA stream) counts as a failed attempt and is
        downloaded again; only a body that decodes is cached, so the cache never holds a broken
        file. A cached file that does not decode (edited by hand) is dropped and downloaded.
        """
        rel = hour_path(symbol, hour)
        cached = self.cache_dir / rel if self.cache_dir is not None else None
        if cached is not None and cached.is_file():
            try:
                return hour_tick_records(cached.read_bytes(), str(cached))
            except CorruptFileError:
                log.warning("corrupt cached file %s; downloading again", cached)
                cached.unlink(missing_ok=True)
        url = f"{self.base_url}/{rel}"
        data, records = self._download(url, lambda body: hour_tick_records(body, url))
        if cached is not None and _complete(hour):
            write_atomic(cached, data)
        return records

    def _download(self, url: str, decode: Callable[[bytes], T]) -> tuple[bytes, T]:
        """GET ``url`` with retries; ``decode`` failing with :class:`CorruptFileError` retries too."""
        last: str = ""
        for attempt in range(self.retries + 1):
            if attempt:
                delay = self.backoff * 2 ** (attempt - 1) * (0.5 + random.random())
                log.info("retrying %s in %.2fs (attempt %d): %s", url, delay, attempt + 1, last)
                time.sleep(delay)
            self._limiter.wait()
            try:
                resp = self._http.get(url)
            except httpx.TransportError as exc:  # refused, reset, timeouts, short bodies
                last = f"{type(exc).__name__}: {exc}"
                continue
            if resp.status_code == 200:
                try:
                    return resp.content, decode(resp.content)
                except CorruptFileError as exc:  # e.g. a 200 whose LZMA stream was cut short
                    last = str(exc)
                    if attempt == self.retries:
                        raise
                    continue
            if resp.status_code in _RETRY_STATUSES:
                last = f"HTTP {resp.status_code}"
                continue
            raise DatafeedNotFoundError(f"datafeed answered HTTP {resp.status_code} for {url}")
        raise DatafeedUnavailableError(
            f"datafeed unavailable after {self.retries + 1} attempts: {url} ({last})"
        )

    # -- decoded data ------------------------------------------------------------------------

    def fetch_day(self, symbol: str, day: dt.date) -> pd.DataFrame:
        """All ticks of one UTC day: 24 hourly files fetched concurrently, decoded, sorted."""
        scale = get_instrument(symbol).price_scale
        hours = day_hours(day)
        with ThreadPoolExecutor(self.max_workers, thread_name_prefix="dukascopy") as pool:
            futures = [pool.submit(self.fetch_hour_records, symbol, h) for h in hours]
        # Every hour ran to completion (and was cached) before the first failure is raised,
        # so a re-run after an outage only downloads the hours that failed.
        for future in futures:
            error = future.exception()
            if error is not None:
                raise error
        ticks = day_ticks_frame([f.result() for f in futures], [epoch_ms(h) for h in hours], scale)
        log.info("fetched %s %s: %d ticks", symbol, day, len(ticks))
        return ticks

    def fetch_candles(
        self, symbol: str, period: dt.date, timeframe: str = "m1", side: str = "BID"
    ) -> pd.DataFrame:
        """Dukascopy's own candles: ``m1`` for a day, ``h1`` for a month, ``d1`` for a year."""
        rel = candles_path(symbol, period, timeframe, side)
        if timeframe == "m1":
            start = dt.datetime(period.year, period.month, period.day, tzinfo=dt.UTC)
        elif timeframe == "h1":
            start = dt.datetime(period.year, period.month, 1, tzinfo=dt.UTC)
        else:
            start = dt.datetime(period.year, 1, 1, tzinfo=dt.UTC)
        raw = self.fetch_path(rel, cacheable=False)
        return decode_candles(raw, epoch_ms(start), get_instrument(symbol).price_scale)
