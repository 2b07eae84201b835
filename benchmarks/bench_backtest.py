"""Benchmark ``backtest_single``: ml.backtest.run_backtest vs vectorbt's Portfolio.from_signals.

1,000,000 1-minute bars, an SMA(20)/SMA(100) long/short crossover, fixed 10,000 units, 0.2 bp
commission per side, fills at the next bar's open (vectorbt gets the signals shifted by one bar
and ``price=open``). Both run once to compile, then the best of 3 warm runs is timed. Our time is
end to end (validation, kernel, trade table, metrics); vectorbt's covers from_signals plus its
final value, with its entry/exit arrays prepared beforehand and a tz-naive index (a UTC index
costs vectorbt seconds converting timestamps to objects, which is not its best way).
Prints JSON lines {"name","value","unit","baseline","ratio"}; ratio = baseline time / our time
(> 1: we are that many times faster). The final equities of both are printed too, as a check
that they agree (ratio = ours / vectorbt's, 1 when equal).
"""

from __future__ import annotations

import json
import time
import warnings

import numpy as np
import pandas as pd

from marketdata.instruments import get_instrument
from ml.backtest import CostModel, run_backtest
from ml.backtest.strategies import sma_cross_signal

N_BARS = 1_000_000
UNITS = 10_000.0
FEE = 0.00002
CASH = 100_000.0


def make_bars(n: int, seed: int = 7) -> pd.DataFrame:
    """A mid-price random walk as plain OHLC minute bars (zero spread, so both engines agree)."""
    rng = np.random.default_rng(seed)
    close = 1.1 * np.exp(np.cumsum(rng.normal(0, 2e-4, n)))
    open_ = np.r_[1.1, close[:-1]]
    wiggle = np.abs(rng.normal(0, 1e-4, n))
    idx = pd.date_range("2015-01-01", periods=n, freq="1min", tz="UTC")
    return pd.DataFrame({"Open": open_, "High": np.maximum(open_, close) + wiggle,
                         "Low": np.minimum(open_, close) - wiggle, "Close": close}, index=idx)


def best_of(fn, repeat: int = 3) -> tuple[float, object]:
    out, best = None, float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    import vectorbt as vbt

    bars = make_bars(N_BARS)
    sig = sma_cross_signal(bars["Close"].to_numpy(), 20, 100)
    inst = get_instrument("EURUSD")
    costs = CostModel(commission_rate=FEE, apply_swap=False)

    def ours():
        return run_backtest(bars, sig, inst, costs, cash=CASH, units=UNITS, close_at_end=False)

    naive = bars.set_axis(bars.index.tz_localize(None))
    held = pd.Series(sig, index=naive.index).shift(1).fillna(0).astype(int)  # fill on next open
    prev = held.shift(1).fillna(0).astype(int)
    orders = {
        "entries": (held == 1) & (prev != 1), "exits": (held != 1) & (prev == 1),
        "short_entries": (held == -1) & (prev != -1), "short_exits": (held != -1) & (prev == -1),
    }

    def theirs():
        pf = vbt.Portfolio.from_signals(naive["Close"], price=naive["Open"], size=UNITS,
                                        fees=FEE, init_cash=CASH, freq="1min", **orders)
        return float(pf.final_value())

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours()  # compile / warm caches
        theirs()
        t_ours, res = best_of(ours)
        t_vbt, final_vbt = best_of(theirs)
    final_ours = float(res.equity.iloc[-1])
    lines = [
        {"name": "backtest_single", "value": round(t_ours * 1e3, 2),
         "unit": "ms for one SMA-cross backtest of 1M 1-min bars; baseline: vectorbt from_signals",
         "baseline": round(t_vbt * 1e3, 2), "ratio": round(t_vbt / t_ours, 3)},
        {"name": "backtest_final_equity_vs_vectorbt", "value": round(final_ours, 6), "unit": "USD",
         "baseline": round(final_vbt, 6), "ratio": round(final_ours / final_vbt, 12)},
    ]
    for line in lines:
        print(json.dumps(line))


if __name__ == "__main__":
    main()
