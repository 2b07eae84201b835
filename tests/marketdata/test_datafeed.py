"""The datafeed URL layout: zero-based months, hour and candle paths, and parsing them back."""

from __future__ import annotations

import datetime as dt

import pytest

from marketdata.datafeed import candles_path, day_hours, hour_path, hour_url, parse_path


def test_hour_url_uses_zero_based_months() -> None:
    hour = dt.datetime(2019, 2, 4, 0, tzinfo=dt.UTC)
    assert hour_path("EURUSD", hour) == "EURUSD/2019/01/04/00h_ticks.bi5"
    assert (
        hour_url("http://x/datafeed/", "eurusd", hour)
        == "http://x/datafeed/EURUSD/2019/01/04/00h_ticks.bi5"
    )
    assert (
        hour_path("GBPJPY", dt.datetime(2012, 12, 3, 23, 59)) == "GBPJPY/2012/11/03/23h_ticks.bi5"
    )
    assert hour_path("EURUSD", dt.datetime(2020, 1, 1, 5)) == "EURUSD/2020/00/01/05h_ticks.bi5"


def test_aware_hours_are_converted_to_utc() -> None:
    cet = dt.timezone(dt.timedelta(hours=1))
    assert (
        hour_path("EURUSD", dt.datetime(2019, 2, 4, 1, tzinfo=cet))
        == "EURUSD/2019/01/04/00h_ticks.bi5"
    )


def test_day_hours() -> None:
    hours = day_hours(dt.date(2019, 2, 4))
    assert len(hours) == 24 and hours[0].tzinfo is dt.UTC and hours[-1].hour == 23


def test_candle_paths() -> None:
    day = dt.date(2019, 2, 4)
    assert candles_path("EURUSD", day) == "EURUSD/2019/01/04/BID_candles_min_1.bi5"
    assert candles_path("EURUSD", day, "h1", "ask") == "EURUSD/2019/01/ASK_candles_hour_1.bi5"
    assert candles_path("EURUSD", day, "d1") == "EURUSD/2019/BID_candles_day_1.bi5"
    with pytest.raises(ValueError, match="timeframe"):
        candles_path("EURUSD", day, "w1")


@pytest.mark.parametrize(
    ("path", "kind", "start", "side", "tf"),
    [
        ("/data/EURUSD/2019/01/04/13h_ticks.bi5", "ticks", dt.datetime(2019, 2, 4, 13), None, None),
        (
            "EURUSD/2019/01/04/BID_candles_min_1.bi5",
            "candles",
            dt.datetime(2019, 2, 4),
            "BID",
            "m1",
        ),
        (
            "x/EURUSD/2019/00/ASK_candles_hour_1.bi5",
            "candles",
            dt.datetime(2019, 1, 1),
            "ASK",
            "h1",
        ),
        ("EURUSD/2018/BID_candles_day_1.bi5", "candles", dt.datetime(2018, 1, 1), "BID", "d1"),
    ],
)
def test_parse_path(
    path: str, kind: str, start: dt.datetime, side: str | None, tf: str | None
) -> None:
    info = parse_path(path)
    assert info is not None
    assert (info.symbol, info.kind, info.side, info.timeframe) == ("EURUSD", kind, side, tf)
    assert info.start == start.replace(tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "path",
    [
        "EURUSD/2019/12/04/00h_ticks.bi5",
        "EURUSD/2019/01/00h_ticks.bi5",
        "ticks.bi5",
        "EURUSD/2019/BID_candles_min_1.bi5",
        "EURUSD/2019/01/30/00h_ticks.bi5",
    ],
)
def test_parse_path_rejects_non_layout(path: str) -> None:
    assert parse_path(path) is None
