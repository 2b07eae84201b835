"""Benchmark: 1-minute bars from one day of real EURUSD ticks, ticks_to_bars vs. pandas resample.

Prints one JSON line: value = ms for ``marketdata.bars.ticks_to_bars`` (both sides' OHLC,
spread mean/max, counts, volumes); baseline = ms for the naive pandas way (a DatetimeIndex,
``resample("1min")`` with ``.ohlc()`` per side plus the other aggregates, then dropping empty
minutes); ratio = baseline / value. Fixtures: $ALPHAFORGE_FIXTURES or ../shared/data/dukascopy.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from marketdata.bars import ticks_to_bars  # noqa: E402
from marketdata.bi5 import decode_ticks  # noqa: E402
from marketdata.datafeed import day_hours, epoch_ms, hour_path  # noqa: E402
from marketdata.sources import concat_ticks  # noqa: E402

FIXTURES = Path(
    os.environ.get("ALPHAFORGE_FIXTURES", REPO.parent / "shared" / "data" / "dukascopy")
)


def pandas_bars(ticks: pd.DataFrame) -> pd.DataFrame:
    """The baseline: the textbook pandas resample."""
    df = ticks.set_index(pd.to_datetime(ticks["ts_ms"], unit="ms", utc=True))
    df["spread"] = df["ask"] - df["bid"]
    r = df.resample("1min")
    out = pd.concat(
        [
            r["bid"].ohlc().add_prefix("bid_"),
            r["ask"].ohlc().add_prefix("ask_"),
            r["spread"].agg(["mean", "max"]).add_prefix("spread_"),
            r["bid"].count().rename("tick_count"),
            r[["bid_volume", "ask_volume"]].sum(),
        ],
        axis=1,
    )
    return out[out["tick_count"] > 0]


def best_ms(fn, arg, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(arg)
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def main() -> None:
    ticks = concat_ticks(
        decode_ticks((FIXTURES / hour_path("EURUSD", h)).read_bytes(), epoch_ms(h), 1e5)
        for h in day_hours(dt.date(2019, 2, 4))
    )
    ours, base = ticks_to_bars(ticks), pandas_bars(ticks)
    assert len(ours) == len(base) and np.allclose(ours["bid_close"], base["bid_close"])
    value = best_ms(ticks_to_bars, ticks, 7)
    baseline = best_ms(pandas_bars, ticks, 7)
    print(
        json.dumps(
            {
                "name": "ticks_to_bars_1m_day_eurusd",
                "value": round(value, 2),
                "unit": "ms/day",
                "baseline": round(baseline, 2),
                "ratio": round(baseline / value, 2),
                "ticks": len(ticks),
            }
        )
    )


if __name__ == "__main__":
    main()
