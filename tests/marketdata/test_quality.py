"""Data-quality checks on the real GBPJPY December 2012 and EURUSD fixture days."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from marketdata import quality
from marketdata.calendar import fx_open_mask, rollover_instants
from marketdata.instruments import get_instrument
from tests.marketdata.helpers import fixture_day

GBPJPY_DAYS = [dt.date(2012, 12, d) for d in range(1, 27)]
MONDAY_GAP = dt.date(2012, 12, 3)  # the feed stops 15:14:56 -> 15:32:57 UTC


@pytest.fixture(scope="module")
def gbpjpy(fixtures_dir: Path) -> dict[dt.date, pd.DataFrame]:
    return {d: fixture_day(fixtures_dir, "GBPJPY", d) for d in GBPJPY_DAYS}


def _failed(results: list[quality.CheckResult]) -> dict[str, quality.CheckResult]:
    return {r.name: r for r in results if not r.passed}


def test_real_month_is_clean_apart_from_one_gap(gbpjpy: dict[dt.date, pd.DataFrame]) -> None:
    """Weekends (Sat empty, Sun from 22:00) and Christmas zero-byte hours are all normal."""
    for day, ticks in gbpjpy.items():
        failed = _failed(quality.check_day(ticks, day))
        if day == MONDAY_GAP:
            assert set(failed) == {"gaps"}
        else:
            assert failed == {}, (day, failed)


def test_gap_inside_trading_hours_reports_its_size(gbpjpy: dict[dt.date, pd.DataFrame]) -> None:
    res = quality.check_gaps(gbpjpy[MONDAY_GAP], MONDAY_GAP)
    assert (res.passed, res.severity, res.metadata["gaps"]) == (False, "warn", 1)
    gap = res.metadata["details"][0]
    assert gap["start"].startswith("2012-12-03T15:14:56") and gap["open_minutes"] == 18.0
    assert quality.check_gaps(gbpjpy[MONDAY_GAP], MONDAY_GAP, max_gap="20min").passed


def test_weekend_and_christmas_are_normal(gbpjpy: dict[dt.date, pd.DataFrame]) -> None:
    friday, sunday = dt.date(2012, 12, 7), dt.date(2012, 12, 9)
    weekend = pd.concat([gbpjpy[friday], gbpjpy[sunday]], ignore_index=True)
    assert quality.find_gaps(weekend) == []  # Fri 22:00 -> Sun 22:00 is closure
    assert quality.check_row_count(gbpjpy[dt.date(2012, 12, 8)], dt.date(2012, 12, 8)).passed
    xmas = dt.date(2012, 12, 25)
    assert quality.check_gaps(gbpjpy[xmas], xmas).passed
    # The same 14-hour hole on an ordinary Tuesday is a gap.
    tuesday = dt.date(2012, 12, 18)
    ticks = gbpjpy[tuesday]
    hour = (ticks["ts_ms"] // 3_600_000) % 24
    holed = ticks[(hour < 9) | (hour > 21)]
    res = quality.check_gaps(holed, tuesday)
    assert not res.passed and res.metadata["largest_open_minutes"] >= 13 * 60


def test_row_count_flags_a_thin_trading_day(gbpjpy: dict[dt.date, pd.DataFrame]) -> None:
    day = dt.date(2012, 12, 4)
    assert quality.check_row_count(gbpjpy[day], day).passed
    res = quality.check_row_count(gbpjpy[day].iloc[:100], day)
    assert not res.passed and res.metadata["open_hours"] == 24.0


def test_injected_spike_is_found_real_jumps_are_not(gbpjpy: dict[dt.date, pd.DataFrame]) -> None:
    day = dt.date(2012, 12, 7)  # US payrolls day: big genuine moves, no bad prints
    ticks = gbpjpy[day].copy()
    assert quality.check_price_spikes(ticks).passed
    i = len(ticks) // 2
    ticks.loc[i, ["bid", "ask"]] = ticks.loc[i, ["bid", "ask"]] * 1.01  # one bad print, +1%
    res = quality.check_price_spikes(ticks)
    assert not res.passed and res.metadata["spikes"] == 1
    assert res.metadata["at"] == [pd.Timestamp(ticks["ts_ms"][i], unit="ms", tz="UTC").isoformat()]


def test_ordering_crossed_and_duplicates(gbpjpy: dict[dt.date, pd.DataFrame]) -> None:
    ticks = gbpjpy[dt.date(2012, 12, 4)].iloc[:1000].copy()
    assert quality.check_monotonic(ticks).passed and quality.check_ask_ge_bid(ticks).passed
    swapped = ticks.iloc[[0, 2, 1, *range(3, 1000)]]
    res = quality.check_monotonic(swapped)
    assert (res.passed, res.severity, res.metadata) == (
        False,
        "error",
        {"violations": 1, "first_violation_row": 2},
    )
    crossed = ticks.copy()
    crossed.loc[5, "ask"] = crossed.loc[5, "bid"] - 0.01
    assert quality.check_ask_ge_bid(crossed).metadata["crossed_quotes"] == 1
    doubled = pd.concat([ticks, ticks.iloc[:10]]).sort_values("ts_ms", kind="stable")
    res = quality.check_duplicates(doubled)
    assert not res.passed and res.metadata["duplicate_rows"] == 10


def test_trading_time_on_instrument() -> None:
    fx, btc = get_instrument("EURUSD"), get_instrument("BTCUSD")
    assert fx.is_trading_time("2012-12-07T21:59:59Z") and not fx.is_trading_time("2012-12-07T22:00")
    assert not fx.is_trading_time(dt.datetime(2012, 12, 9, 21, 59))
    assert fx.is_trading_time(dt.datetime(2012, 12, 9, 22, 0, tzinfo=dt.UTC))
    assert not fx.is_trading_time("2024-07-05T21:30Z")  # New York summer time: closes 21:00 UTC
    assert btc.is_trading_time("2012-12-08T12:00")


def test_fx_open_mask_is_the_new_york_clock() -> None:
    """The binary search over the week's closes agrees with converting each stamp to New York
    time, stamp by stamp: random instants over 30 years, every close and reopen to the
    millisecond either side (both daylight-saving regimes), and whole 1-second days."""
    def new_york(ts_ms: np.ndarray) -> np.ndarray:
        ny = pd.DatetimeIndex(pd.to_datetime(ts_ms, unit="ms", utc=True)).tz_convert("America/New_York")
        dow, hour = np.asarray(ny.dayofweek), np.asarray(ny.hour)
        return ~((dow == 5) | ((dow == 4) & (hour >= 17)) | ((dow == 6) & (hour < 17)))

    rng = np.random.default_rng(7)
    lo, hi = 946_684_800_000, 1_893_456_000_000  # 2000 to 2030
    edges = rollover_instants(lo // 1000, hi // 1000)[0] * 1000
    samples = [rng.integers(lo, hi, 200_000), (edges[:, None] + np.array([-1, 0, 1])).ravel(),
               *(np.arange(s, s + 86_400_000, 1000) for s in rng.integers(lo, hi, 20))]
    for ts in samples:
        assert (fx_open_mask(ts) == new_york(ts)).all()
    assert fx_open_mask(np.array([], dtype=np.int64)).size == 0


def test_duplicates_are_counted_as_pandas_counts_them(gbpjpy: dict[dt.date, pd.DataFrame]) -> None:
    """Only rows sharing a timestamp are hashed; the count equals ``DataFrame.duplicated``,
    in time order (tied stamps, NaN prices) and out of it (the whole frame is hashed)."""
    ticks = gbpjpy[dt.date(2012, 12, 4)]
    rng = np.random.default_rng(3)
    doubled = pd.concat([ticks, ticks.iloc[rng.integers(0, len(ticks), 300)]])
    doubled = doubled.sort_values("ts_ms", kind="stable", ignore_index=True)
    near = doubled.copy()
    near.loc[near.index[::5], "bid_volume"] += 1.0  # same stamp, different row: not a duplicate
    with_nan = doubled.copy()
    with_nan.loc[with_nan.index[::3], "ask"] = float("nan")
    for frame in (ticks, doubled, near, with_nan, doubled.iloc[::-1]):
        assert quality.check_duplicates(frame).metadata["duplicate_rows"] == int(frame.duplicated().sum())
    assert quality.check_duplicates(doubled).metadata["duplicate_rows"] == 300
