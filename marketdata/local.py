"""A local mirror of the Dukascopy datafeed: a folder in the datafeed's own layout.

``LocalDatafeed(root)`` answers the same calls as :class:`~marketdata.dukascopy.DukascopyClient`
(``fetch_hour``, ``fetch_hour_records``, ``fetch_day``) from files on disk, so that ingesting
downloaded or archived ``.bi5`` files goes through the same decode and store path as a
download. A missing file is an error (the datafeed answers every hour, with an empty body when
there were no ticks), not an empty hour.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pandas as pd

from marketdata.bi5 import day_ticks_frame, hour_tick_records
from marketdata.datafeed import day_hours, epoch_ms, hour_path
from marketdata.errors import DatafeedNotFoundError
from marketdata.instruments import get_instrument


class LocalDatafeed:
    """Hourly tick files read from ``root/SYMBOL/YYYY/MM/DD/HHh_ticks.bi5`` (zero-based MM)."""

    # Reading a local hour is quick and its LZMA is CPU: ``ingest_days`` gives each thread a
    # whole day rather than an hour, so no core waits on a hand-over between threads.
    parallel_hours = False

    def __init__(self, root: Path | str):
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatafeedNotFoundError(f"local datafeed folder does not exist: {self.root}")
        self._root = str(self.root)

    def path(self, symbol: str, hour: dt.datetime) -> Path:
        """Where the file of ``hour`` lives."""
        return self.root / hour_path(symbol, hour)

    def fetch_hour(self, symbol: str, hour: dt.datetime) -> bytes:
        """Raw (compressed) bytes of one hour; a missing file raises, naming it."""
        return self._read(symbol, hour, self._file(symbol, hour))

    def fetch_hour_records(self, symbol: str, hour: dt.datetime) -> np.ndarray:
        """The validated tick records of one hour; a corrupt file raises, naming it."""
        name = self._file(symbol, hour)
        return hour_tick_records(self._read(symbol, hour, name), name)

    def _file(self, symbol: str, hour: dt.datetime) -> str:
        # A plain string path: this runs in the worker threads while they hold the GIL, and
        # pathlib's parsing cost more there than the file read itself (~30 ms a month).
        return os.path.join(self._root, hour_path(symbol, hour))

    @staticmethod
    def _read(symbol: str, hour: dt.datetime, name: str) -> bytes:
        try:
            with open(name, "rb") as f:
                return f.read()
        except FileNotFoundError as exc:
            raise DatafeedNotFoundError(f"no tick file for {symbol} {hour:%Y-%m-%d %H}h: {name}") from exc

    def fetch_day(self, symbol: str, day: dt.date) -> pd.DataFrame:
        """All ticks of one UTC day (the ``TickSource`` contract), read one hour at a time."""
        hours = day_hours(day)
        records = [self.fetch_hour_records(symbol, h) for h in hours]
        return day_ticks_frame(records, [epoch_ms(h) for h in hours], get_instrument(symbol).price_scale)
