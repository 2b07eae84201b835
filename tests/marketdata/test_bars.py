"""Bar aggregation: real ticks must reproduce Dukascopy's own 1-minute candles exactly."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from marketdata.bars import resample_bars, ticks_to_bars
from marketdata.schema import BAR_COLUMNS, TICK_COLUMNS
from marketdata.sources import empty_ticks
from tests.marketdata.helpers import EURUSD_DAYS, fixture_day, fixture_m1_candles


@pytest.fixture(scope="module", params=EURUSD_DAYS, ids=str)
def day_data(
    request: pytest.FixtureRequest, fixtures_dir: Path
) -> tuple[pd.DataFrame, pd.DataFrame]:
    day = request.param
    return fixture_day(fixtures_dir, "EURUSD", day), fixture_m1_candles(fixtures_dir, "EURUSD", day)


def test_bid_bars_equal_dukascopy_minute_candles(day_data) -> None:
    ticks, candles = day_data
    bars = ticks_to_bars(ticks, "1min", fill="ffill")
    assert len(bars) == len(candles) == 1440
    want_ts = pd.to_datetime(candles["ts_ms"], unit="ms", utc=True)
    assert (bars["ts"].to_numpy() == want_ts.to_numpy()).all()
    for part in ("open", "high", "low", "close"):
        got = np.round(bars[f"bid_{part}"].to_numpy() * 1e5)
        np.testing.assert_array_equal(got, np.round(candles[part].to_numpy() * 1e5), err_msg=part)
    np.testing.assert_allclose(bars["bid_volume"], candles["volume"], atol=1e-4, rtol=0)
    # flat candles (no ticks) are exactly the ffilled minutes
    flat = candles["volume"].to_numpy() == 0
    np.testing.assert_array_equal(bars["tick_count"].to_numpy() == 0, flat)


def test_sparse_bars_are_the_minutes_with_ticks(day_data) -> None:
    ticks, _ = day_data
    bars = ticks_to_bars(ticks)
    assert list(bars.columns) == BAR_COLUMNS
    assert str(bars["ts"].dtype) == "datetime64[ns, UTC]"
    assert bars["tick_count"].dtype == np.int64
    assert bars["tick_count"].sum() == len(ticks)
    assert (bars["tick_count"] > 0).all()
    assert (bars["bid_low"] <= bars["bid_open"]).all() and (
        bars["bid_high"] >= bars["bid_close"]
    ).all()
    assert (bars["spread_max"] >= bars["spread_mean"]).all() and (bars["spread_mean"] >= 0).all()
    # spot-check one minute against a plain pandas computation
    minute = ticks[(ticks["ts_ms"] // 60_000) == ticks["ts_ms"].iloc[500] // 60_000]
    row = bars[
        bars["ts"] == pd.Timestamp(minute["ts_ms"].iloc[0] // 60_000 * 60_000, unit="ms", tz="UTC")
    ].iloc[0]
    assert row["ask_open"] == minute["ask"].iloc[0] and row["ask_close"] == minute["ask"].iloc[-1]
    assert row["spread_mean"] == pytest.approx((minute["ask"] - minute["bid"]).mean())
    assert row["ask_volume"] == pytest.approx(minute["ask_volume"].sum())


def _ticks(rows: list[tuple[str, float, float]]) -> pd.DataFrame:
    ts = pd.to_datetime([r[0] for r in rows], utc=True).asi8 // 1_000_000
    return pd.DataFrame(
        {
            "ts_ms": ts,
            "bid": [r[1] for r in rows],
            "ask": [r[2] for r in rows],
            "bid_volume": 1.0,
            "ask_volume": 2.0,
        },
        columns=TICK_COLUMNS,
    )


def test_fill_modes_on_a_gap() -> None:
    ticks = _ticks(
        [
            ("2024-01-02T10:00:05", 1.1000, 1.1002),
            ("2024-01-02T10:00:30", 1.1004, 1.1005),
            ("2024-01-02T10:03:10", 1.0990, 1.0993),
        ]
    )
    assert len(ticks_to_bars(ticks)) == 2
    flag = ticks_to_bars(ticks, fill="flag")
    assert flag["tick_count"].tolist() == [2, 0, 0, 1]
    assert flag["bid_open"].isna().tolist() == [False, True, True, False]
    ff = ticks_to_bars(ticks, fill="ffill")
    assert ff["bid_open"].tolist()[1:3] == [1.1004, 1.1004]
    assert ff["ask_low"].tolist()[1:3] == [1.1005, 1.1005]
    assert ff["bid_volume"].tolist() == [2.0, 0.0, 0.0, 1.0]
    grid = ticks_to_bars(ticks, fill="flag", start="2024-01-02T09:58", end="2024-01-02T10:05")
    assert len(grid) == 7 and grid["tick_count"].tolist() == [0, 0, 2, 0, 0, 1, 0]
    ff_grid = ticks_to_bars(ticks, fill="ffill", start="2024-01-02T09:59", end="2024-01-02T10:05")
    assert np.isnan(ff_grid["bid_close"].iloc[0]) and ff_grid["bid_close"].iloc[-1] == 1.0990


def test_unsorted_ticks_and_bad_arguments() -> None:
    ticks = _ticks([("2024-01-02T10:00:30", 1.2, 1.3), ("2024-01-02T10:00:05", 1.1, 1.2)])
    bars = ticks_to_bars(ticks)
    assert (bars["bid_open"].iloc[0], bars["bid_close"].iloc[0]) == (1.1, 1.2)
    with pytest.raises(ValueError, match="fill"):
        ticks_to_bars(ticks, fill="zero")
    with pytest.raises(ValueError, match="frequency"):
        ticks_to_bars(ticks, freq="1M")
    with pytest.raises(ValueError, match="lacks columns"):
        ticks_to_bars(ticks.drop(columns="ask"))


def test_empty_ticks_give_empty_bars() -> None:
    for fill in ("none", "flag", "ffill"):
        bars = ticks_to_bars(empty_ticks(), fill=fill)
        assert bars.empty and list(bars.columns) == BAR_COLUMNS
    grid = ticks_to_bars(empty_ticks(), fill="flag", start="2024-01-02", end="2024-01-02T00:10")
    assert len(grid) == 10 and (grid["tick_count"] == 0).all()


@pytest.mark.parametrize("rule", ["5min", "15min", "1h", "4h", "1d"])
def test_resample_equals_direct_aggregation(day_data, rule: str) -> None:
    ticks, _ = day_data
    direct = ticks_to_bars(ticks, rule)
    from_1m = resample_bars(ticks_to_bars(ticks, "1min", fill="ffill"), rule)
    assert len(direct) == len(from_1m)
    for col in BAR_COLUMNS:
        if col in ("spread_mean", "bid_volume", "ask_volume"):
            np.testing.assert_allclose(from_1m[col], direct[col], rtol=1e-9, err_msg=col)
        else:
            assert (from_1m[col].to_numpy() == direct[col].to_numpy()).all(), col


def test_resample_matches_dukascopy_hour_candles(fixtures_dir: Path) -> None:
    """Hourly bars from our minutes equal Dukascopy's hourly candles for the fixture days."""
    from marketdata.bi5 import decode_candles
    from marketdata.datafeed import candles_path, epoch_ms

    path = candles_path("EURUSD", dt.date(2019, 2, 1), "h1")
    hours = decode_candles(
        (fixtures_dir / path).read_bytes(), epoch_ms(dt.datetime(2019, 2, 1)), 1e5
    )
    for day in EURUSD_DAYS:
        h1 = resample_bars(ticks_to_bars(fixture_day(fixtures_dir, "EURUSD", day)), "1h")
        want = hours[
            hours["ts_ms"].between(
                epoch_ms(dt.datetime(day.year, day.month, day.day)),
                epoch_ms(dt.datetime(day.year, day.month, day.day, 23)),
            )
        ]
        assert len(h1) == len(want) == 24
        for part in ("open", "high", "low", "close"):
            np.testing.assert_array_equal(
                np.round(h1[f"bid_{part}"].to_numpy() * 1e5), np.round(want[part].to_numpy() * 1e5)
            )
