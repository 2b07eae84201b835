"""Benchmark ``bars_1m``: a month of real GBPJPY ticks (1.09 M) to 1-minute bars.

value = ms for ``marketdata.bars.ticks_to_bars`` (bid and ask OHLC, spread mean and max, tick
count, volumes, empty minutes dropped), starting from the tick frame (epoch-ms ``ts_ms``).
Two lines, each with its baseline measured in the same run, ratio = baseline ms / our ms
(> 1 means we are that many times faster):

* ``bars_1m``: the issue's baseline, pandas ``resample("1min").ohlc()`` of the bid alone (a
  DatetimeIndex built from ``ts_ms``, then one OHLC); ours does much more and must be >= 2x.
* ``bars_1m_full_pandas``: the same full bar set built the textbook pandas way.

Fixtures: $ALPHAFORGE_FIXTURES or ../shared/data/dukascopy relative to the repo root.
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
from marketdata.local import LocalDatafeed  # noqa: E402
from marketdata.sources import concat_ticks  # noqa: E402

FIXTURES = Path(
    os.environ.get("ALPHAFORGE_FIXTURES", REPO.parent / "shared" / "data" / "dukascopy")
)
DAYS = [dt.date(2012, 12, 1) + dt.timedelta(days=i) for i in range(26)]


def bid_ohlc(ticks: pd.DataFrame) -> pd.DataFrame:
    """The issue's baseline: pandas resample().ohlc() of the bid alone."""
    bid = pd.Series(ticks["bid"].to_numpy(), index=pd.to_datetime(ticks["ts_ms"], unit="ms", utc=True))
    return bid.resample("1min").ohlc()


def pandas_bars(ticks: pd.DataFrame) -> pd.DataFrame:
    """The full bar set, the textbook pandas way."""
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


def emit(name: str, value: float, baseline: float, ticks: int, bars: int) -> None:
    print(json.dumps({
        "name": name, "value": round(value, 2), "unit": "ms (ratio = baseline ms / ours)",
        "baseline": round(baseline, 2), "ratio": round(baseline / value, 2),
        "ticks": ticks, "bars": bars,
    }))


def main() -> None:
    feed = LocalDatafeed(FIXTURES)
    ticks = concat_ticks(feed.fetch_day("GBPJPY", d) for d in DAYS)
    ours, ohlc, full = ticks_to_bars(ticks), bid_ohlc(ticks), pandas_bars(ticks)
    # the results must agree before their speeds mean anything
    ohlc = ohlc.dropna()
    assert len(ours) == len(ohlc) == len(full)
    assert np.array_equal(ours["bid_high"].to_numpy(), ohlc["high"].to_numpy())
    assert np.allclose(ours["spread_mean"].to_numpy(), full["spread_mean"].to_numpy())
    value = best_ms(ticks_to_bars, ticks, 7)
    emit("bars_1m", value, best_ms(bid_ohlc, ticks, 7), len(ticks), len(ours))
    emit("bars_1m_full_pandas", value, best_ms(pandas_bars, ticks, 3), len(ticks), len(ours))


if __name__ == "__main__":
    main()
