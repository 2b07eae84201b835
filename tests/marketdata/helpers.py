"""Small readers of the shared fixtures used by several marketdata tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from marketdata.bi5 import decode_candles, decode_ticks
from marketdata.datafeed import candles_path, day_hours, epoch_ms, hour_path
from marketdata.instruments import get_instrument
from marketdata.sources import concat_ticks

EURUSD_DAYS = (dt.date(2019, 2, 4), dt.date(2019, 2, 5))


def fixture_day(fixtures_dir: Path, symbol: str, day: dt.date) -> pd.DataFrame:
    """Decode the 24 fixture hour files of one day, straight from disk."""
    scale = get_instrument(symbol).price_scale
    return concat_ticks(
        decode_ticks((fixtures_dir / hour_path(symbol, h)).read_bytes(), epoch_ms(h), scale)
        for h in day_hours(day)
    )


def fixture_m1_candles(fixtures_dir: Path, symbol: str, day: dt.date) -> pd.DataFrame:
    """Dukascopy's own BID 1-minute candles for ``day``."""
    raw = (fixtures_dir / candles_path(symbol, day, "m1")).read_bytes()
    start = epoch_ms(dt.datetime(day.year, day.month, day.day))
    return decode_candles(raw, start, get_instrument(symbol).price_scale)
