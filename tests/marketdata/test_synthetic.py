"""The synthetic tick source: deterministic, realistic, closed at weekends, schema-true."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from marketdata.instruments import get_instrument
from marketdata.schema import TICK_COLUMNS
from marketdata.sources import TickSource
from marketdata.synthetic import SyntheticSource

WEDNESDAY = dt.date(2024, 1, 3)


def test_schema_and_determinism() -> None:
    src = SyntheticSource(seed=3)
    assert isinstance(src, TickSource)
    a, b = (
        src.fetch_day("EURUSD", WEDNESDAY),
        SyntheticSource(seed=3).fetch_day("EURUSD", WEDNESDAY),
    )
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == TICK_COLUMNS and a["ts_ms"].dtype == np.int64
    assert not a.equals(SyntheticSource(seed=4).fetch_day("EURUSD", WEDNESDAY))
    assert not a.equals(src.fetch_day("GBPUSD", WEDNESDAY))


@pytest.mark.parametrize("symbol", ["EURUSD", "GBPJPY", "XAUUSD"])
def test_realistic_day(symbol: str) -> None:
    inst = get_instrument(symbol)
    ticks = SyntheticSource().fetch_day(symbol, WEDNESDAY)
    assert 20_000 <= len(ticks) <= 60_000
    ts = ticks["ts_ms"].to_numpy()
    assert (np.diff(ts) > 0).all()
    lo = int(pd.Timestamp(WEDNESDAY, tz="UTC").value // 1_000_000)
    assert ts[0] >= lo and ts[-1] < lo + 86_400_000
    spread = ticks["ask"] - ticks["bid"]
    assert (spread > 0).all()
    for col in ("bid", "ask"):  # quantised to the instrument's point
        ints = ticks[col].to_numpy() * inst.price_scale
        np.testing.assert_allclose(ints, np.round(ints), atol=1e-6)
    # a daily range of a plausible size: not flat, not exploding
    rng = ticks["bid"].max() / ticks["bid"].min() - 1
    assert 0.0005 < rng < 0.1
    # the spread is wider around the 21-23h rollover than in the London session
    hour = (ts - lo) // 3_600_000
    assert spread[(hour >= 21) & (hour < 23)].mean() > 2 * spread[(hour >= 8) & (hour < 16)].mean()


def test_weekend_closure() -> None:
    src = SyntheticSource()
    assert src.fetch_day("EURUSD", dt.date(2024, 1, 6)).empty  # Saturday
    sunday = src.fetch_day("EURUSD", dt.date(2024, 1, 7))
    first = pd.Timestamp(sunday["ts_ms"].iloc[0], unit="ms", tz="UTC")
    assert first.hour == 22 and len(sunday) < 5_000
    friday = src.fetch_day("EURUSD", dt.date(2024, 1, 5))
    assert pd.Timestamp(friday["ts_ms"].iloc[-1], unit="ms", tz="UTC").hour == 21
    # crypto trades at weekends
    assert len(src.fetch_day("BTCUSD", dt.date(2024, 1, 6))) > 10_000


def test_days_join_up() -> None:
    src = SyntheticSource()
    mon, tue = (
        src.fetch_day("EURUSD", dt.date(2024, 1, 8)),
        src.fetch_day("EURUSD", dt.date(2024, 1, 9)),
    )
    jump = abs(tue["bid"].iloc[0] / mon["bid"].iloc[-1] - 1)
    assert jump < 0.002


def test_unknown_symbol() -> None:
    from marketdata.errors import UnknownSymbolError

    with pytest.raises(UnknownSymbolError):
        SyntheticSource().fetch_day("EURUSX", WEDNESDAY)
