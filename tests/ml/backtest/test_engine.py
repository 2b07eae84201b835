"""run_backtest: the contract the Dagster backtest asset relies on, fills, look-ahead, costs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from marketdata.instruments import get_instrument
from ml.backtest import (
    BacktestResult,
    CostModel,
    InvalidBarsError,
    InvalidSignalError,
    run_backtest,
)
from ml.backtest.errors import BacktestError
from tests.ml.backtest.helpers import random_bars, random_signal

EURUSD = get_instrument("EURUSD")
NO_COSTS = CostModel(apply_swap=False)


def test_result_shape_and_types():
    bars = random_bars(500, seed=1)
    sig = random_signal(500, seed=1)
    res = run_backtest(bars, sig, EURUSD, NO_COSTS, cash=50_000, units=10_000)
    assert isinstance(res, BacktestResult)
    assert isinstance(res.equity, pd.Series) and len(res.equity) == len(bars)
    assert res.equity.index.equals(pd.DatetimeIndex(bars["ts"]))
    assert {"entry_time", "exit_time", "size", "pnl", "spread", "commission", "slippage",
            "swap"} <= set(res.trades.columns)
    assert len(res.trades) > 5
    for key in ("total_return", "cagr", "sharpe", "sortino", "calmar", "max_drawdown",
                "max_drawdown_days", "win_rate", "profit_factor", "expectancy", "exposure",
                "turnover"):
        assert isinstance(res.metrics[key], float), key
    # equity at the end equals cash plus every closed trade's P&L (positions closed at the end)
    assert res.equity.iloc[-1] == pytest.approx(50_000 + res.trades["pnl"].sum(), rel=1e-12)


def test_fills_at_next_open_on_the_right_side():
    bars = random_bars(10, seed=2)
    sig = np.array([0, 1, 1, 1, -1, -1, 0, 0, 0, 0])
    res = run_backtest(bars, sig, EURUSD, NO_COSTS, units=1000)
    t = res.trades
    assert list(t["entry_bar"]) == [2, 5] and list(t["exit_bar"]) == [5, 7]
    assert t.loc[0, "entry_price"] == bars.loc[2, "ask_open"]  # buy at the ask
    assert t.loc[0, "exit_price"] == bars.loc[5, "bid_open"]  # sell at the bid
    assert t.loc[1, "entry_price"] == bars.loc[5, "bid_open"]  # short entry sells at the bid
    assert t.loc[1, "exit_price"] == bars.loc[7, "ask_open"]  # cover at the ask
    assert t.loc[0, "entry_time"] == bars.loc[2, "ts"]
    long_move = bars.loc[5, "bid_open"] - bars.loc[2, "ask_open"]
    short_move = bars.loc[5, "bid_open"] - bars.loc[7, "ask_open"]
    assert t.loc[0, "gross_pnl"] == pytest.approx(1000 * long_move)
    assert t.loc[1, "gross_pnl"] == pytest.approx(1000 * short_move)


def test_last_bar_signal_never_trades():
    bars = random_bars(6, seed=3)
    res = run_backtest(bars, np.array([0, 0, 0, 0, 0, 1]), EURUSD, NO_COSTS, units=1000)
    assert res.trades.empty and (res.equity == 100_000).all()


def test_no_look_ahead_future_bars_do_not_change_earlier_fills():
    n, t = 400, 250
    bars = random_bars(n, seed=4)
    sig = random_signal(n, seed=4)
    base = run_backtest(bars, sig, EURUSD, CostModel(commission_per_lot=5, slippage_pips=0.2),
                        units=20_000, stop_loss_pips=15, take_profit_pips=25, close_at_end=False)
    # scramble every price and every signal from bar t+1 on
    other = bars.copy()
    price_cols = [c for c in bars.columns if c.startswith(("bid_", "ask_"))]
    other.loc[t + 1 :, price_cols] = random_bars(n, seed=99).loc[t + 1 :, price_cols]
    sig2 = sig.copy()
    sig2[t + 1 :] = -sig2[t + 1 :]
    changed = run_backtest(other, sig2, EURUSD, CostModel(commission_per_lot=5, slippage_pips=0.2),
                           units=20_000, stop_loss_pips=15, take_profit_pips=25, close_at_end=False)
    # trades closed by bar t are identical; the equity curve up to bar t too
    before = base.trades[base.trades["exit_bar"] <= t].reset_index(drop=True)
    before2 = changed.trades[changed.trades["exit_bar"] <= t].reset_index(drop=True)
    assert len(before) > 10
    pd.testing.assert_frame_equal(before, before2)
    pd.testing.assert_series_equal(base.equity.iloc[: t + 1], changed.equity.iloc[: t + 1])
    # a flip of signal t itself shows up no earlier than bar t+1
    sig3 = sig.copy()
    sig3[t] = 1 if sig[t] != 1 else -1
    third = run_backtest(bars, sig3, EURUSD, NO_COSTS, units=20_000, close_at_end=False)
    first = run_backtest(bars, sig, EURUSD, NO_COSTS, units=20_000, close_at_end=False)
    pd.testing.assert_series_equal(first.equity.iloc[: t + 1], third.equity.iloc[: t + 1])
    assert not first.equity.iloc[t + 1 :].equals(third.equity.iloc[t + 1 :])


def test_spread_is_paid_and_commission_charged():
    n = 300
    bars = random_bars(n, seed=5, spread_pips=2.0)
    flat = bars.copy()  # the same mids with zero spread
    for f in ("open", "high", "low", "close"):
        mid = (bars[f"bid_{f}"] + bars[f"ask_{f}"]) / 2
        flat[f"bid_{f}"] = mid
        flat[f"ask_{f}"] = mid
    sig = random_signal(n, seed=5)
    free = run_backtest(flat, sig, EURUSD, NO_COSTS, units=100_000)
    spread = run_backtest(bars, sig, EURUSD, NO_COSTS, units=100_000)
    comm = run_backtest(bars, sig, EURUSD, CostModel(commission_per_lot=7.0, apply_swap=False),
                        units=100_000)
    assert len(free.trades) == len(spread.trades) > 10
    # each round trip pays half the spread at entry and half at exit, on the data's own quotes
    paid = free.equity.iloc[-1] - spread.equity.iloc[-1]
    assert paid == pytest.approx(spread.trades["spread"].sum(), rel=1e-9)
    assert spread.trades["spread"].gt(0).all() and (free.trades["spread"] == 0).all()
    # 7 per lot per side on 1-lot trades = 14 per round trip
    assert comm.trades["commission"].to_numpy() == pytest.approx(np.full(len(comm.trades), 14.0))
    assert spread.equity.iloc[-1] - comm.equity.iloc[-1] == pytest.approx(14.0 * len(comm.trades))


def test_commission_rate_is_a_fraction_of_notional():
    bars = random_bars(50, seed=6)
    sig = np.r_[0, np.ones(20), np.zeros(29)]
    res = run_backtest(bars, sig, EURUSD, CostModel(commission_rate=0.001, apply_swap=False),
                       units=1000)
    t = res.trades.iloc[0]
    expected = 0.001 * 1000 * (t["entry_price"] + t["exit_price"])
    assert t["commission"] == pytest.approx(expected)
    assert t["pnl"] == pytest.approx(t["gross_pnl"] - expected)


@pytest.mark.parametrize(
    "bad, error",
    [
        (lambda b: b.drop(columns=["bid_open"]), InvalidBarsError),
        (lambda b: b.iloc[::-1], InvalidBarsError),
        (lambda b: b.assign(ask_close=np.nan), InvalidBarsError),
        (lambda b: b.assign(ask_open=b["bid_open"] - 1e-3), InvalidBarsError),
        (lambda b: b.iloc[:0], InvalidBarsError),
    ],
)
def test_bad_bars_are_rejected(bad, error):
    bars = random_bars(20, seed=7)
    with pytest.raises(error):
        run_backtest(bad(bars), np.zeros(len(bad(bars))), EURUSD, NO_COSTS)


def test_bad_signals_and_settings_are_rejected():
    bars = random_bars(20, seed=8)
    with pytest.raises(InvalidSignalError, match="20 bars"):
        run_backtest(bars, np.zeros(19), EURUSD)
    with pytest.raises(InvalidSignalError, match="-1, 0 or"):
        run_backtest(bars, np.full(20, 0.5), EURUSD)
    with pytest.raises(InvalidSignalError):
        run_backtest(bars, np.r_[np.nan, np.zeros(19)], EURUSD)
    shifted = pd.Series(np.zeros(20), index=pd.DatetimeIndex(bars["ts"]) + pd.Timedelta("1h"))
    with pytest.raises(InvalidSignalError, match="does not match"):
        run_backtest(bars, shifted, EURUSD)
    with pytest.raises(BacktestError, match="only one"):
        run_backtest(bars, np.zeros(20), EURUSD, units=1.0, fraction=0.5)
    with pytest.raises(BacktestError):
        CostModel(commission_per_lot=-1)
    with pytest.raises(BacktestError):
        run_backtest(bars, np.zeros(20), EURUSD, cash=0)


def test_mid_plus_spread_and_plain_ohlc_bars():
    bars = random_bars(100, seed=9)
    mid = pd.DataFrame({
        "ts": bars["ts"],
        **{f: (bars[f"bid_{f}"] + bars[f"ask_{f}"]) / 2 for f in ("open", "high", "low", "close")},
        "spread": 0.0002,
    })
    sig = random_signal(100, seed=9)
    res = run_backtest(mid, sig, EURUSD, NO_COSTS, units=1000)
    t = res.trades.iloc[0]
    o = mid.loc[t["entry_bar"], "open"]
    assert t["entry_price"] == pytest.approx(o + 0.0001 * t["direction"])
    ohlc = mid.drop(columns=["spread", "ts"]).rename(columns=str.capitalize)
    ohlc.index = pd.DatetimeIndex(mid["ts"]).tz_localize(None)
    res0 = run_backtest(ohlc, sig, EURUSD, NO_COSTS, units=1000)
    assert (res0.trades["spread"] == 0).all()
    assert res0.equity.index.tz is not None
