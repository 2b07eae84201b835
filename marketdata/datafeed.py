"""The Dukascopy datafeed URL layout, with its zero-based months.

``EURUSD/2019/01/04/00h_ticks.bi5`` is the hour 2019-02-04 00:00 UTC: the month folder counts
from 00 (January). Candle files live one level up per timeframe:
``YYYY/MM/DD/BID_candles_min_1.bi5`` (a day of minutes), ``YYYY/MM/BID_candles_hour_1.bi5``
(a month of hours) and ``YYYY/BID_candles_day_1.bi5`` (a year of days).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

DEFAULT_BASE_URL = "https://datafeed.dukascopy.com/datafeed"

_CANDLE_FILES = {"min_1": "m1", "hour_1": "h1", "day_1": "d1"}

_PATH_RE = re.compile(
    r"(?:^|/)(?P<symbol>[A-Za-z0-9]+)/(?P<year>\d{4})"
    r"(?:/(?P<month>\d{2})(?:/(?P<day>\d{2}))?)?/"
    r"(?:(?P<hour>\d{2})h_ticks|(?P<side>BID|ASK)_candles_(?P<tf>min_1|hour_1|day_1))\.bi5$"
)


def as_utc(ts: dt.datetime) -> dt.datetime:
    """Treat a naive datetime as UTC; convert an aware one to UTC."""
    if ts.tzinfo is None:
        return ts.replace(tzinfo=dt.UTC)
    return ts.astimezone(dt.UTC)


def epoch_ms(ts: dt.datetime) -> int:
    """UTC epoch milliseconds of ``ts`` (naive means UTC)."""
    return int(as_utc(ts).timestamp() * 1000)


def hour_path(symbol: str, hour: dt.datetime) -> str:
    """Relative datafeed path of the tick file for ``hour`` (minutes and seconds ignored)."""
    h = as_utc(hour)
    return f"{symbol.upper()}/{h.year:04d}/{h.month - 1:02d}/{h.day:02d}/{h.hour:02d}h_ticks.bi5"


def hour_url(base_url: str, symbol: str, hour: dt.datetime) -> str:
    """Absolute URL of the tick file for ``hour`` under ``base_url``."""
    return f"{base_url.rstrip('/')}/{hour_path(symbol, hour)}"


def day_hours(day: dt.date) -> list[dt.datetime]:
    """The 24 UTC hour starts of ``day``."""
    start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return [start + dt.timedelta(hours=h) for h in range(24)]


def candles_path(symbol: str, period: dt.date, timeframe: str = "m1", side: str = "BID") -> str:
    """Relative path of a candle file: ``m1`` (one day), ``h1`` (one month) or ``d1`` (one year)."""
    year, month = f"{symbol.upper()}/{period.year:04d}", f"{period.month - 1:02d}"
    side = side.upper()
    if timeframe == "m1":
        return f"{year}/{month}/{period.day:02d}/{side}_candles_min_1.bi5"
    if timeframe == "h1":
        return f"{year}/{month}/{side}_candles_hour_1.bi5"
    if timeframe == "d1":
        return f"{year}/{side}_candles_day_1.bi5"
    raise ValueError(f"unknown candle timeframe {timeframe!r}; expected m1, h1 or d1")


@dataclass(frozen=True)
class DatafeedFile:
    """What a datafeed path says about its file: symbol, kind, period start, side, timeframe."""

    symbol: str
    kind: str  # "ticks" or "candles"
    start: dt.datetime  # UTC start of the hour / day / month / year the file covers
    side: str | None = None  # BID or ASK for candle files
    timeframe: str | None = None  # m1, h1 or d1 for candle files


def parse_path(path: str) -> DatafeedFile | None:
    """Parse a datafeed path (zero-based month); ``None`` when it does not follow the layout."""
    m = _PATH_RE.search(path.replace("\\", "/"))
    if not m:
        return None
    year = int(m["year"])
    month = int(m["month"]) + 1 if m["month"] else 1
    day = int(m["day"]) if m["day"] else 1
    try:
        if m["hour"] is not None:
            if m["day"] is None:
                return None
            start = dt.datetime(year, month, day, int(m["hour"]), tzinfo=dt.UTC)
            return DatafeedFile(m["symbol"].upper(), "ticks", start)
        tf = _CANDLE_FILES[m["tf"]]
        expected_depth = {"m1": "day", "h1": "month", "d1": "year"}[tf]
        depth = "day" if m["day"] else "month" if m["month"] else "year"
        if depth != expected_depth:
            return None
        start = dt.datetime(year, month, day, tzinfo=dt.UTC)
    except ValueError:  # e.g. month folder 12 or day 31 of a 30-day month
        return None
    return DatafeedFile(m["symbol"].upper(), "candles", start, m["side"], tf)
