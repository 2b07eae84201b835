"""DukascopyJsonSource (dukascopy-python 4.0.1) against a local chart-API server, real ticks."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from marketdata.bars import ticks_to_bars
from marketdata.dukascopy_json import DukascopyJsonSource, json_instrument
from marketdata.errors import DatafeedUnavailableError
from marketdata.schema import TICK_COLUMNS
from tests.marketdata.helpers import EURUSD_DAYS, fixture_day
from tests.support.dukascopy_json_server import serve_chart_api

DAY = EURUSD_DAYS[0]


@pytest.fixture(scope="module")
def ticks(fixtures_dir: Path) -> pd.DataFrame:
    return fixture_day(fixtures_dir, "EURUSD", DAY)


def _first_hours(ticks: pd.DataFrame, hours: int) -> pd.DataFrame:
    return ticks[
        ticks["ts_ms"] < ticks["ts_ms"].iloc[0] // 86_400_000 * 86_400_000 + hours * 3_600_000
    ]


@pytest.mark.parametrize("inclusive", [True, False], ids=["inclusive", "exclusive-empty-page"])
def test_ticks_round_trip_with_paging(ticks: pd.DataFrame, inclusive: bool) -> None:
    part = _first_hours(ticks, 3)
    with serve_chart_api({"EUR/USD": part}, inclusive=inclusive) as (url, reqs):
        got = DukascopyJsonSource(url, timeout=5, page_limit=2_000).fetch_day("EURUSD", DAY)
    assert len(reqs) >= len(part) // 2_000  # it paged
    assert list(got.columns) == TICK_COLUMNS
    pd.testing.assert_frame_equal(got, part.reset_index(drop=True), check_exact=False, rtol=1e-12)


def test_empty_range_is_a_clean_end(ticks: pd.DataFrame) -> None:
    with serve_chart_api({"EUR/USD": ticks}, inclusive=False) as (url, reqs):
        got = DukascopyJsonSource(url, timeout=5).fetch_day("EURUSD", dt.date(2019, 2, 6))
    assert got.empty and list(got.columns) == TICK_COLUMNS and len(reqs) == 1


def test_minute_bars_match_our_aggregation(ticks: pd.DataFrame) -> None:
    part = _first_hours(ticks, 2)
    start = dt.datetime(2019, 2, 4, tzinfo=dt.UTC)
    with serve_chart_api({"EUR/USD": part}) as (url, _):
        bars = DukascopyJsonSource(url, timeout=5).fetch_bars(
            "EURUSD", start, start + dt.timedelta(hours=2), "1MIN", "BID"
        )
    ours = ticks_to_bars(part)
    assert len(bars) == len(ours) == 120
    np.testing.assert_array_equal(
        bars["ts_ms"], ours["ts"].to_numpy("datetime64[ms]").astype(np.int64)
    )
    np.testing.assert_allclose(bars["close"], ours["bid_close"])
    np.testing.assert_allclose(bars["volume"], ours["bid_volume"], rtol=1e-9)


def test_server_errors_are_retried_then_reported(ticks: pd.DataFrame) -> None:
    part = _first_hours(ticks, 1)
    with serve_chart_api({"EUR/USD": part}, faults=[503]) as (url, _):
        got = DukascopyJsonSource(url, timeout=5, max_retries=1).fetch_day("EURUSD", DAY)
    assert len(got) == len(part)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = DukascopyJsonSource(f"http://127.0.0.1:{port}", timeout=1, max_retries=0)
    with pytest.raises(DatafeedUnavailableError, match=f"127.0.0.1:{port}"):
        dead.fetch_day("EURUSD", DAY)


def test_instrument_names_and_bad_arguments() -> None:
    assert json_instrument("EURUSD") == "EUR/USD"
    assert json_instrument("xauusd") == "XAU/USD"
    with pytest.raises(ValueError, match="interval"):
        DukascopyJsonSource().fetch_bars(
            "EURUSD", dt.datetime(2019, 2, 4), dt.datetime(2019, 2, 5), "2MIN"
        )
