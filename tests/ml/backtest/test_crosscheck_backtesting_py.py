"""Cross-check against backtesting.py 0.6.6 on its bundled EURUSD hourly data.

SMA(10)/SMA(30) strict crossover, zero spread and slippage, 2 bp commission per side, fills at the
next open (``trade_on_close=False``), ``exclusive_orders=True``. backtesting.py runs with
``finalize_trades=False``: a position still open at the end stays open there and is marked to
market at the last close; our engine runs with ``close_at_end=False``, which does the same, so the
closed trades and the final equity must agree to 1e-8 relative.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.app import app
from marketdata.instruments import get_instrument
from ml.backtest import CostModel, run_backtest
from ml.backtest.strategies import sma_cross_signal
from tests.conftest import require

try:  # a dev extra: backtesting==0.6.6
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover
    from backtesting.test import EURUSD, SMA
except ImportError:  # pragma: no cover - reported by the fixture below
    Backtest = None

RTOL = 1e-8


@pytest.fixture(autouse=True)
def _needs_backtesting_py():
    require(Backtest is not None, "backtesting==0.6.6 (dev extra) is not installed")


def strategy_class():
    """The same rules as ``sma_cross_signal`` in backtesting.py's vocabulary."""

    class SmaCross(Strategy):
        size = 0.0  # 0: backtesting.py's default (all equity)
        long_only = False

        def init(self):
            self.fast = self.I(SMA, self.data.Close, 10)
            self.slow = self.I(SMA, self.data.Close, 30)

        def next(self):
            kwargs = {"size": self.size} if self.size else {}
            if crossover(self.fast, self.slow):
                self.buy(**kwargs)
            elif crossover(self.slow, self.fast):
                if self.long_only:
                    self.position.close()
                else:
                    self.sell(**kwargs)

    return SmaCross


def reference(long_only: bool, size: float):
    bt = Backtest(EURUSD, strategy_class(), cash=10_000, commission=0.0002, trade_on_close=False,
                  exclusive_orders=True, finalize_trades=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = bt.run(long_only=long_only, size=size)
    return stats._trades, float(stats["Equity Final [$]"])


def assert_same_trades(ours, theirs):
    assert len(ours) == len(theirs) > 50
    assert list(ours["entry_bar"]) == list(theirs["EntryBar"])
    assert list(ours["exit_bar"]) == list(theirs["ExitBar"])
    np.testing.assert_allclose(ours["direction"] * ours["size"], theirs["Size"], rtol=RTOL)
    np.testing.assert_allclose(ours["entry_price"], theirs["EntryPrice"], rtol=RTOL)
    np.testing.assert_allclose(ours["exit_price"], theirs["ExitPrice"], rtol=RTOL)
    np.testing.assert_allclose(ours["commission"], theirs["Commission"], rtol=RTOL)
    np.testing.assert_allclose(ours["pnl"], theirs["PnL"], rtol=RTOL)
    assert [t.isoformat() for t in ours["entry_time"].dt.tz_localize(None)] == [
        t.isoformat() for t in theirs["EntryTime"]]


def test_no_exact_ties_in_the_data():
    # the one place the rules could differ (a repeated same-direction cross after an exact tie)
    close = EURUSD["Close"]
    diff = close.rolling(10).mean() - close.rolling(30).mean()
    assert (diff.dropna() != 0).all()


@pytest.mark.parametrize("long_only", [False, True])
def test_cli_all_in_matches_backtesting_py(long_only, tmp_path):
    csv = tmp_path / "eurusd.csv"
    EURUSD.to_csv(csv)
    argv = ["backtest", "sma-cross", "--bars", str(csv), "--fast", "10", "--slow", "30",
            "--cash", "10000", "--commission", "0.0002", "--json"]
    result = CliRunner().invoke(app, [*argv, "--long-only"] if long_only else argv)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    theirs, final = reference(long_only, 0.0)
    ours = pd.DataFrame(doc["trades"])
    ours["entry_time"] = pd.to_datetime(ours["entry_time"])
    assert_same_trades(ours, theirs)
    assert doc["final_equity"] == pytest.approx(final, rel=RTOL)
    assert (ours["direction"] > 0).all() == long_only


@pytest.mark.parametrize("long_only", [False, True])
def test_fixed_units_match_backtesting_py(long_only):
    signal = sma_cross_signal(EURUSD["Close"], 10, 30, long_only=long_only)
    res = run_backtest(EURUSD, signal, get_instrument("EURUSD"),
                       CostModel(commission_rate=0.0002, apply_swap=False), cash=10_000,
                       units=5_000, close_at_end=False)
    theirs, final = reference(long_only, 5_000)
    assert_same_trades(res.trades, theirs)
    assert res.equity.iloc[-1] == pytest.approx(final, rel=RTOL)
