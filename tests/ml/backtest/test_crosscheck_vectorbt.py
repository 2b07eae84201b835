"""Cross-check trade by trade against vectorbt 1.0.0 on backtesting.py's bundled EURUSD hours.

SMA(10)/SMA(30) strict crossover, fixed 5,000 units, zero spread and slippage, fills at the next
open: vectorbt gets the target position shifted by one bar as entries/exits (``price=Open``) and
reverses through one order, which it books as the close of one trade and the open of the next.
Its exit-trade records then line up one to one with our closed trades (times, side, size, prices,
P&L, fees), the one still open at the end included, and so do the final equities.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from marketdata.instruments import get_instrument
from ml.backtest import CostModel, run_backtest
from ml.backtest.strategies import sma_cross_signal
from tests.conftest import require

try:  # dev extras: vectorbt==1.0.0, backtesting==0.6.6 (for its data)
    import vectorbt as vbt
    from backtesting.test import EURUSD
except ImportError:  # pragma: no cover - reported by the fixture below
    vbt = None

RTOL = 1e-10
UNITS = 5_000.0


@pytest.fixture(autouse=True)
def _needs_vectorbt():
    require(vbt is not None, "vectorbt==1.0.0 and backtesting==0.6.6 (dev extras) are needed")


def vectorbt_trades(signal: np.ndarray, fee: float):
    held = pd.Series(signal, index=EURUSD.index).shift(1).fillna(0).astype(int)
    prev = held.shift(1).fillna(0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pf = vbt.Portfolio.from_signals(
            EURUSD["Close"], price=EURUSD["Open"], size=UNITS, fees=fee, init_cash=10_000.0,
            freq="1h", entries=(held == 1) & (prev != 1), exits=(held != 1) & (prev == 1),
            short_entries=(held == -1) & (prev != -1), short_exits=(held != -1) & (prev == -1))
        return pf.trades.records_readable, float(pf.final_value())


@pytest.mark.parametrize("long_only, fee", [(False, 0.0), (True, 0.0), (False, 0.0002)])
def test_trades_match_vectorbt(long_only, fee):
    signal = sma_cross_signal(EURUSD["Close"], 10, 30, long_only=long_only)
    res = run_backtest(EURUSD, signal, get_instrument("EURUSD"),
                       CostModel(commission_rate=fee, apply_swap=False), cash=10_000.0,
                       units=UNITS, close_at_end=False)
    theirs, final = vectorbt_trades(signal, fee)
    closed = theirs[theirs["Status"] == "Closed"].reset_index(drop=True)
    ours = res.trades
    assert len(ours) == len(closed) > 50
    assert list(ours["entry_time"].dt.tz_localize(None)) == list(closed["Entry Timestamp"])
    assert list(ours["exit_time"].dt.tz_localize(None)) == list(closed["Exit Timestamp"])
    assert list(np.where(ours["direction"] > 0, "Long", "Short")) == list(closed["Direction"])
    assert (ours["direction"] > 0).all() == long_only
    for col, their_col in (("size", "Size"), ("entry_price", "Avg Entry Price"),
                           ("exit_price", "Avg Exit Price"), ("pnl", "PnL")):
        np.testing.assert_allclose(ours[col], closed[their_col], rtol=RTOL, atol=1e-9,
                                   err_msg=col)
    np.testing.assert_allclose(ours["commission"], closed["Entry Fees"] + closed["Exit Fees"],
                               rtol=RTOL, atol=1e-12)
    # a position still open at the end (long/short here): same entry, marked at the last close
    still_open = theirs[theirs["Status"] == "Open"].reset_index(drop=True)
    assert len(res.open_trades) == len(still_open) == (0 if long_only else 1)
    for k in range(len(still_open)):
        assert res.open_trades.loc[k, "entry_time"].tz_localize(None) == \
            still_open.loc[k, "Entry Timestamp"]
        assert res.open_trades.loc[k, "pnl"] == pytest.approx(still_open.loc[k, "PnL"],
                                                              rel=1e-9)
    assert res.equity.iloc[-1] == pytest.approx(final, rel=RTOL)
