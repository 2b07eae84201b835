"""Broker server time: the clock an MT5 server stamps its ticks and bars with, to and from UTC.

An MT5 terminal reports times in its broker's server time written as if it were UTC. Most
servers run "EET/EEST" (UTC+2, UTC+3 under the EU summer rules: ``Europe/Athens``); many run
"New York close" time, New York's clock seven hours ahead, so that the 17:00 New York rollover
is midnight (``ny-close``: UTC+2/+3 on the US dates). A spec is ``UTC``, an IANA zone name, or
``ny-close``.

Turning server time back into UTC has one hard hour: when the clocks go back, an hour of server
time happens twice. Ticks come in the order the server recorded them, so within that hour the
first pass is summer time and everything after the clock steps back is winter time.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from marketdata.errors import MarketDataError

_BUCKET_MS = 900_000  # offsets change on quarter hours in every zone in use


@lru_cache(maxsize=32)
def parse_server_tz(spec: str) -> tuple[ZoneInfo | None, int]:
    """(zone, extra hours) of a server-time spec; (None, 0) for UTC."""
    key = spec.strip()
    if key.upper() in {"UTC", "GMT", "ETC/UTC"}:
        return None, 0
    if key.lower() == "ny-close":
        return ZoneInfo("America/New_York"), 7
    try:
        return ZoneInfo(key), 0
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise MarketDataError(
            f"unknown server time zone {spec!r}: use UTC, ny-close or an IANA name"
        ) from exc


def utc_to_server(t: dt.datetime, spec: str) -> dt.datetime:
    """The server's wall clock at UTC instant ``t``, labelled UTC as the MT5 API expects it."""
    zone, shift = parse_server_tz(spec)
    if zone is None:
        return t.astimezone(dt.UTC)
    local = t.astimezone(zone).replace(tzinfo=None) + dt.timedelta(hours=shift)
    return local.replace(tzinfo=dt.UTC)


def _offset_ms(zone: ZoneInfo, local_ms: int, fold: int) -> int:
    naive = dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=local_ms)
    off = naive.replace(tzinfo=zone, fold=fold).utcoffset()
    return int(off.total_seconds() * 1000) if off is not None else 0


def server_to_utc_ms(server_ms: np.ndarray, spec: str) -> np.ndarray:
    """UTC epoch ms of server-time stamps ``server_ms``, given in the order they were recorded."""
    zone, shift = parse_server_tz(spec)
    ms = np.asarray(server_ms, dtype=np.int64)
    if zone is None or not len(ms):
        return ms.copy()
    local = ms - shift * 3_600_000
    buckets, inverse = np.unique(local // _BUCKET_MS, return_inverse=True)
    early = np.array([_offset_ms(zone, int(b) * _BUCKET_MS, 0) for b in buckets], dtype=np.int64)[inverse]
    late = np.array([_offset_ms(zone, int(b) * _BUCKET_MS, 1) for b in buckets], dtype=np.int64)[inverse]
    twice = early != late  # the repeated hour
    second_pass = np.zeros(len(ms), dtype=bool)
    if twice.any():
        back = np.flatnonzero((np.diff(local) < 0) & twice[1:])
        if len(back):
            second_pass[back[0] + 1 :] = True
    return local - np.where(twice & second_pass, late, early)
