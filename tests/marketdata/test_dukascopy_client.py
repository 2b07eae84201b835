"""DukascopyClient against a real HTTP mirror of the fixtures on 127.0.0.1, faults included."""

from __future__ import annotations

import datetime as dt
import re
import socket
import ssl
import time
from pathlib import Path

import pandas as pd
import pytest

from marketdata.datafeed import hour_path
from marketdata.dukascopy import DukascopyClient
from marketdata.errors import DatafeedNotFoundError, DatafeedUnavailableError
from marketdata.schema import TICK_COLUMNS
from marketdata.sources import TickSource
from tests.marketdata.helpers import EURUSD_DAYS, fixture_day
from tests.support.static_server import serve_directory

DAY = EURUSD_DAYS[0]


def _client(url: str, **kw) -> DukascopyClient:
    kw.setdefault("timeout", 5.0)
    kw.setdefault("backoff", 0.01)
    return DukascopyClient(url, **kw)


def test_fetch_day_equals_the_files(datafeed_url: str, fixtures_dir: Path) -> None:
    with _client(datafeed_url) as client:
        assert isinstance(client, TickSource)
        got = client.fetch_day("EURUSD", DAY)
    assert list(got.columns) == TICK_COLUMNS
    assert got["ts_ms"].is_monotonic_increasing
    pd.testing.assert_frame_equal(got, fixture_day(fixtures_dir, "EURUSD", DAY))
    assert len(got) == 3733 + int(got["ts_ms"].ge(1549238400000 + 3_600_000).sum())


def test_weekend_and_sunday_reopen(datafeed_url: str) -> None:
    with _client(datafeed_url) as client:
        assert client.fetch_day("GBPJPY", dt.date(2012, 12, 1)).empty  # Saturday: 24 empty bodies
        sunday = client.fetch_day("GBPJPY", dt.date(2012, 12, 2))
    first = pd.Timestamp(sunday["ts_ms"].iloc[0], unit="ms", tz="UTC")
    assert first == pd.Timestamp("2012-12-02T22:00:20.449Z")


def test_missing_file_is_a_clear_error(datafeed_url: str) -> None:
    with (
        _client(datafeed_url) as client,
        pytest.raises(DatafeedNotFoundError, match=r"404.*EURUSD/2019/01/06/00h"),
    ):
        client.fetch_hour("EURUSD", dt.datetime(2019, 2, 6, 0))


def test_503s_then_success_are_retried(fixtures_dir: Path) -> None:
    rel = hour_path("EURUSD", dt.datetime(2019, 2, 4, 0))
    with (
        serve_directory(fixtures_dir, faults={rel: [503, 503, 500]}) as (url, hits),
        _client(url, retries=4) as client,
    ):
        raw = client.fetch_hour("EURUSD", dt.datetime(2019, 2, 4, 0))
    assert raw == (fixtures_dir / rel).read_bytes()
    assert hits.count("/" + rel) == 4


def test_retries_exhausted_names_the_url(fixtures_dir: Path) -> None:
    rel = hour_path("EURUSD", dt.datetime(2019, 2, 4, 0))
    with (
        serve_directory(fixtures_dir, faults={rel: [503] * 5}) as (url, hits),
        _client(url, retries=2) as client,
        pytest.raises(DatafeedUnavailableError) as err,
    ):
        client.fetch_hour("EURUSD", dt.datetime(2019, 2, 4, 0))
    assert f"{url}/{rel}" in str(err.value) and "HTTP 503" in str(err.value)
    assert hits.count("/" + rel) == 3


def test_dead_server_fails_fast() -> None:
    with socket.socket() as sock:  # find a port, then close it so nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/datafeed"
    started = time.monotonic()
    with (
        _client(url, retries=3, backoff=0.001) as client,
        pytest.raises(
            DatafeedUnavailableError,
            match=re.escape(f"127.0.0.1:{port}/datafeed/EURUSD/2019/01/04"),
        ),
    ):
        client.fetch_day("EURUSD", DAY)
    assert time.monotonic() - started < 20  # generous: only guards against hanging


def test_cache_means_no_requests_on_rerun(fixtures_dir: Path, tmp_path: Path) -> None:
    with serve_directory(fixtures_dir) as (url, hits):
        with _client(url, cache_dir=tmp_path) as client:
            first = client.fetch_day("EURUSD", DAY)
        assert len(hits) == 24
        assert (tmp_path / hour_path("EURUSD", dt.datetime(2019, 2, 4, 13))).is_file()
        assert not list(tmp_path.rglob("*.tmp"))
        with _client(url, cache_dir=tmp_path) as client:
            again = client.fetch_day("EURUSD", DAY)
        assert len(hits) == 24
    pd.testing.assert_frame_equal(first, again)


def test_interrupted_backfill_resumes(fixtures_dir: Path, tmp_path: Path) -> None:
    broken = hour_path("EURUSD", dt.datetime(2019, 2, 4, 12))
    with (
        serve_directory(fixtures_dir, faults={broken: [503] * 10}) as (url, hits),
        _client(url, cache_dir=tmp_path, retries=1) as client,
        pytest.raises(DatafeedUnavailableError),
    ):
        client.fetch_day("EURUSD", DAY)
    assert len(list(tmp_path.rglob("*_ticks.bi5"))) == 23
    with serve_directory(fixtures_dir) as (url, hits):
        with _client(url, cache_dir=tmp_path) as client:
            got = client.fetch_day("EURUSD", DAY)
        assert hits == ["/" + broken]
    pd.testing.assert_frame_equal(got, fixture_day(fixtures_dir, "EURUSD", DAY))


def test_corrupt_cache_entry_is_downloaded_again(
    datafeed_url: str, fixtures_dir: Path, tmp_path: Path
) -> None:
    rel = hour_path("EURUSD", dt.datetime(2019, 2, 4, 5))
    (tmp_path / rel).parent.mkdir(parents=True)
    (tmp_path / rel).write_bytes(b"garbage")
    with _client(datafeed_url, cache_dir=tmp_path) as client:
        got = client.fetch_day("EURUSD", DAY)
    assert (tmp_path / rel).read_bytes() == (fixtures_dir / rel).read_bytes()
    assert len(got) == len(fixture_day(fixtures_dir, "EURUSD", DAY))


def test_candles_and_rate_limit(datafeed_url: str) -> None:
    with _client(datafeed_url, rate_limit_per_s=200.0) as client:
        m1 = client.fetch_candles("EURUSD", DAY, "m1")
        h1 = client.fetch_candles("EURUSD", dt.date(2019, 2, 1), "h1")
    assert len(m1) == 1440 and len(h1) == 672
    assert m1["ts_ms"].iloc[0] == 1549238400000


def test_clients_share_one_verifying_tls_context() -> None:
    # Built once per process (a backfill makes a client per run); it must still verify.
    from marketdata.dukascopy import _tls_context

    ctx = _tls_context()
    assert ctx is _tls_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.cert_store_stats()["x509_ca"] > 0  # the CA bundle is loaded
