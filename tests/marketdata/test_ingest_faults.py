"""Backfills through DukascopyClient against a 127.0.0.1 mirror that fails on purpose.

The server answers 500s, stalls past the client's timeout, drops connections mid-body and
serves truncated LZMA streams for chosen hours. The tests prove the retries, that one bad hour
costs only its own day (which is never written half), and that a re-run completes the backfill
downloading only what is missing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from marketdata.datafeed import hour_path
from marketdata.dukascopy import DukascopyClient
from marketdata.errors import CorruptFileError
from marketdata.ingest import ingest_days
from marketdata.store import ParquetStore
from tests.marketdata.helpers import EURUSD_DAYS, fixture_day
from tests.support.fault_server import serve_with_faults

MON, TUE = EURUSD_DAYS
TIMEOUT_S = 2.0  # well above a healthy local answer while the other test worker loads both cores


def _client(url: str, **kw) -> DukascopyClient:
    kw.setdefault("timeout", TIMEOUT_S)
    kw.setdefault("backoff", 0.01)
    kw.setdefault("max_workers", 4)
    return DukascopyClient(url, **kw)


def _rel(day: dt.date, hour: int) -> str:
    return hour_path("EURUSD", dt.datetime(day.year, day.month, day.day, hour))


def test_every_kind_of_fault_is_retried(fixtures_dir: Path, tmp_path: Path) -> None:
    faults = {
        _rel(MON, 1): [500, 503],
        _rel(MON, 2): ["timeout"],
        _rel(MON, 3): ["short"],
        _rel(MON, 4): ["lzma", "short", 502],
    }
    store = ParquetStore(tmp_path / "lake")
    with (
        serve_with_faults(fixtures_dir, faults, stall_s=3 * TIMEOUT_S) as (url, hits),
        _client(url, retries=3, cache_dir=tmp_path / "cache") as client,
    ):
        report = ingest_days(client, store, "EURUSD", [MON])
    assert report.ok, report.failed
    assert {rel: hits.count("/" + rel) for rel in faults} == {
        _rel(MON, 1): 3, _rel(MON, 2): 2, _rel(MON, 3): 2, _rel(MON, 4): 4
    }
    assert len(hits) == 24 + 2 + 1 + 1 + 3
    pd.testing.assert_frame_equal(
        store.read_ticks("EURUSD", MON, MON), fixture_day(fixtures_dir, "EURUSD", MON)
    )
    # what was cached is the real file, never a truncated body
    cached = tmp_path / "cache" / _rel(MON, 4)
    assert cached.read_bytes() == (fixtures_dir / _rel(MON, 4)).read_bytes()


def test_truncated_lzma_that_never_heals_names_the_url(fixtures_dir: Path, tmp_path: Path) -> None:
    rel = _rel(MON, 7)
    with (
        serve_with_faults(fixtures_dir, {rel: ["lzma"] * 3}) as (url, hits),
        _client(url, retries=2, cache_dir=tmp_path) as client,
        pytest.raises(CorruptFileError, match=rel) as err,
    ):
        client.fetch_hour_records("EURUSD", dt.datetime(2019, 2, 4, 7))
    assert "LZMA" in str(err.value)
    assert hits.count("/" + rel) == 3
    assert not (tmp_path / rel).exists()  # a broken body is never cached


def test_a_failed_day_is_isolated_and_a_rerun_completes_it(
    fixtures_dir: Path, tmp_path: Path
) -> None:
    store = ParquetStore(tmp_path / "lake")
    cache = tmp_path / "cache"
    bad_timeout, bad_lzma = _rel(TUE, 9), _rel(TUE, 15)
    faults = {bad_timeout: ["timeout"] * 2, bad_lzma: ["lzma"] * 2, _rel(MON, 20): [500]}
    with (
        serve_with_faults(fixtures_dir, faults, stall_s=3 * TIMEOUT_S) as (url, _),
        _client(url, retries=1, cache_dir=cache) as client,
    ):
        first = ingest_days(client, store, "EURUSD", [MON, TUE])
    assert list(first.written) == [MON] and list(first.failed) == [TUE]
    assert bad_timeout in first.failed[TUE] or bad_lzma in first.failed[TUE]
    assert "1 more failed hours" in first.failed[TUE]
    assert store.days("ticks", "EURUSD") == [MON]  # nothing at all for the failed day
    assert not list((tmp_path / "lake").rglob("*.tmp"))
    cached = {str(p.relative_to(cache)) for p in cache.rglob("*_ticks.bi5")}
    assert len(cached) == 46 and bad_timeout not in cached and bad_lzma not in cached

    with (
        serve_with_faults(fixtures_dir) as (url, hits),
        _client(url, cache_dir=cache) as client,
    ):
        second = ingest_days(client, store, "EURUSD", [MON, TUE], skip_existing=True)
    assert second.ok and second.skipped == [MON] and list(second.written) == [TUE]
    assert sorted(hits) == sorted(["/" + bad_timeout, "/" + bad_lzma])  # only what was missing
    got = store.read_ticks("EURUSD", MON, TUE)
    want = pd.concat([fixture_day(fixtures_dir, "EURUSD", d) for d in (MON, TUE)], ignore_index=True)
    pd.testing.assert_frame_equal(got, want)


def test_a_failed_reingest_keeps_the_old_day(fixtures_dir: Path, tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    old = fixture_day(fixtures_dir, "EURUSD", MON)
    store.write_ticks("EURUSD", MON, old)
    with (
        serve_with_faults(fixtures_dir, {_rel(MON, 0): [503] * 2}) as (url, _),
        _client(url, retries=1) as client,
    ):
        report = ingest_days(client, store, "EURUSD", [MON])
    assert "HTTP 503" in report.failed[MON] and _rel(MON, 0) in report.failed[MON]
    pd.testing.assert_frame_equal(store.read_ticks("EURUSD", MON, MON), old)


def test_unknown_fault_kind_is_rejected(fixtures_dir: Path) -> None:
    with pytest.raises(ValueError, match="unknown fault"), serve_with_faults(fixtures_dir, {"x": ["boom"]}):
        pass
