"""Hand-built bars for stops (pessimistic tie rule, gaps), swaps (Wednesday triple) and sizing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from marketdata.instruments import get_instrument
from ml.backtest import CostModel, run_backtest
from ml.costs.rollover import swap_multipliers
from tests.ml.backtest.helpers import random_bars

EURUSD = get_instrument("EURUSD")
NO_SWAP = CostModel(apply_swap=False)
SPREAD = 0.0001


def bars_from_mid(rows, start="2024-01-01 00:00", freq="1h"):
    """Bars from (open, high, low, close) mids with a constant one-pip spread."""
    mid = pd.DataFrame(rows, columns=["open", "high", "low", "close"])
    df = pd.DataFrame({"ts": pd.date_range(start, periods=len(mid), freq=freq, tz="UTC")})
    for f in mid:
        df[f"bid_{f}"] = mid[f] - SPREAD / 2
        df[f"ask_{f}"] = mid[f] + SPREAD / 2
    df["spread_mean"] = SPREAD
    return df


def test_stop_first_when_stop_and_target_share_a_bar():
    bars = bars_from_mid([(1.1, 1.1, 1.1, 1.1), (1.1, 1.1, 1.1, 1.1), (1.1, 1.103, 1.097, 1.1),
                          (1.1, 1.1, 1.1, 1.1)])
    res = run_backtest(bars, [1, 1, 1, 1], EURUSD, NO_SWAP, units=1000,
                       stop_loss_pips=20, take_profit_pips=20)
    t = res.trades.iloc[0]
    assert t["exit_reason"] == "stop_loss" and t["exit_bar"] == 2
    assert t["exit_price"] == pytest.approx(t["entry_price"] - 0.002)


def test_short_stop_uses_the_ask_and_gaps_fill_at_the_open():
    bars = bars_from_mid([(1.1, 1.1, 1.1, 1.1), (1.1, 1.1, 1.1, 1.1), (1.1, 1.1, 1.1, 1.1),
                          (1.105, 1.106, 1.104, 1.105)])
    res = run_backtest(bars, [-1, -1, -1, -1], EURUSD, CostModel(slippage_pips=0.5,
                       apply_swap=False), units=1000, stop_loss_pips=10)
    t = res.trades.iloc[0]
    entry = 1.1 - SPREAD / 2 - 0.00005  # sold at the bid, minus slippage
    assert t["entry_price"] == pytest.approx(entry)
    # the bar opened above the stop: filled at that ask, not at the stop, and slipped again
    assert t["exit_reason"] == "stop_loss"
    assert t["exit_price"] == pytest.approx(1.105 + SPREAD / 2 + 0.00005)


def test_take_profit_then_flat_until_the_signal_changes():
    bars = bars_from_mid([(1.1, 1.1, 1.1, 1.1)] * 2 + [(1.1, 1.1035, 1.0995, 1.103)]
                         + [(1.103, 1.103, 1.103, 1.103)] * 3)
    sig = [1, 1, 1, 1, 0, 1]
    res = run_backtest(bars, sig, EURUSD, NO_SWAP, units=1000, take_profit_pips=30,
                       close_at_end=False)
    assert list(res.trades["exit_reason"]) == ["take_profit"]
    assert res.trades.loc[0, "exit_price"] == pytest.approx(1.1 + SPREAD / 2 + 0.003)
    assert (res.position.iloc[2:5] == 0).all()  # no re-entry while the signal stays long
    assert len(res.open_trades) == 0
    res2 = run_backtest(bars, [1, 1, 1, 1, 0, 1, ], EURUSD, NO_SWAP, units=1000,
                        take_profit_pips=30, close_at_end=True)
    assert len(res2.trades) == 1  # the signal's last value never trades


def test_swap_multipliers_wednesday_triple_and_no_weekend():
    days = pd.date_range("2024-01-01", periods=7, freq="D", tz="UTC")  # Monday..Sunday
    assert list(swap_multipliers(days.asi8)) == [1, 1, 3, 1, 1, 0, 0]
    minutes = pd.date_range("2024-01-03 21:58", periods=4, freq="1min", tz="UTC")  # Wed
    assert list(swap_multipliers(minutes.asi8)) == [0, 3, 0, 0]  # paid by the 21:59 bar


def test_swap_rollover_follows_new_york_17h_through_daylight_saving():
    # July: New York is on daylight time, so 17:00 there is 21:00 UTC (and 22:00 pays nothing)
    summer = pd.date_range("2024-07-10 20:58", periods=4, freq="1min", tz="UTC")  # Wednesday
    assert list(swap_multipliers(summer.asi8)) == [0, 3, 0, 0]  # paid by the 20:59 bar
    late = pd.date_range("2024-07-10 21:58", periods=4, freq="1min", tz="UTC")
    assert list(swap_multipliers(late.asi8)) == [0, 0, 0, 0]
    # the Sunday the clocks change (2024-11-03): Monday's rollover is back at 22:00 UTC
    week = pd.date_range("2024-11-01 00:00", periods=5, freq="D", tz="UTC")  # Fri..Tue
    hours = pd.date_range("2024-11-04 20:30", periods=3, freq="1h", tz="UTC")  # Mon
    assert list(swap_multipliers(week.asi8)) == [1, 0, 0, 1, 1]
    assert list(swap_multipliers(hours.asi8)) == [0, 1, 0]  # the 21:30 bar holds 22:00


def test_swap_charged_in_account_currency():
    n = 24 * 7
    bars = bars_from_mid([(1.1, 1.1, 1.1, 1.1)] * n)  # Monday 2024-01-01, one week
    long = run_backtest(bars, np.ones(n), EURUSD, CostModel(), units=100_000)
    short = run_backtest(bars, -np.ones(n), EURUSD, CostModel(), units=100_000)
    # held Mon 01:00 -> Sun 23:00: Mon, Tue, Wed(x3), Thu, Fri rollovers = 7 nights
    per_night_long = EURUSD.swap_long * EURUSD.pip_size * 100_000  # -5.0 per lot
    assert long.trades.loc[0, "swap"] == pytest.approx(-7 * per_night_long)
    assert short.trades.loc[0, "swap"] == pytest.approx(-7 * EURUSD.swap_short * 10)
    assert long.equity.iloc[-1] == pytest.approx(100_000 - SPREAD * 100_000 + 7 * per_night_long)
    off = run_backtest(bars, np.ones(n), EURUSD, NO_SWAP, units=100_000)
    assert off.trades.loc[0, "swap"] == 0


def test_sizing_fraction_lot_step_and_vol_target():
    bars = random_bars(600, seed=11)
    sig = np.r_[np.zeros(300), np.ones(300)]
    frac = run_backtest(bars, sig, EURUSD, NO_SWAP, fraction=0.5, lot_step=0.01)
    t = frac.trades.iloc[0]
    raw = 0.5 * 100_000 / t["entry_price"]
    assert t["lots"] == pytest.approx(np.floor(raw / 1000) / 100)
    vol = run_backtest(bars, sig, EURUSD, NO_SWAP, vol_target=0.10, vol_lookback=50)
    half = run_backtest(bars, sig, EURUSD, NO_SWAP, vol_target=0.05, vol_lookback=50)
    assert vol.trades.loc[0, "size"] == pytest.approx(2 * half.trades.loc[0, "size"])
    # warm-up bars give no size, so an early signal does not trade
    early = run_backtest(bars, np.r_[np.ones(10), np.zeros(590)], EURUSD, NO_SWAP,
                         vol_target=0.1, vol_lookback=50)
    assert early.trades.empty
    allin = run_backtest(bars, sig, EURUSD, CostModel(commission_rate=1e-4, apply_swap=False),
                         all_in=1.0)
    size = allin.trades.loc[0, "size"]
    assert size == int(size) and size * allin.trades.loc[0, "entry_price"] * (1 + 1e-4) <= 100_000
