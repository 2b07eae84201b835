"""The shortcuts the compiled passes take: the kernel's room for trades, the drawdown floor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from marketdata.instruments import get_instrument
from ml.backtest import CostModel, core, run_backtest
from ml.backtest.metrics import compute_metrics, drawdown_stats
from tests.ml.backtest.helpers import random_bars, random_signal

EURUSD = get_instrument("EURUSD")
NO_COSTS = CostModel(apply_swap=False)


def test_a_signal_that_flips_every_bar_fills_the_room_exactly():
    # every bar but the first opens a trade: max_trades is then exactly the count, so a
    # bound one short would overflow the kernel's record array (it raises rather than write)
    n = 400
    bars = random_bars(n, seed=3)
    sig = np.where(np.arange(n) % 2 == 0, 1, -1)
    res = run_backtest(bars, sig, EURUSD, NO_COSTS, units=1_000, close_at_end=False)
    assert len(res.trades) + len(res.open_trades) == n - 1 == core.max_trades(sig)


@pytest.mark.parametrize("seed", range(6))
def test_trades_never_outnumber_max_trades_with_stops(seed):
    # tight stops and targets exit between signal changes; re-entries must wait for one
    n = 600
    bars = random_bars(n, seed=seed, freq="15min")
    sig = random_signal(n, seed=seed, hold=2 + seed)
    res = run_backtest(
        bars,
        sig,
        EURUSD,
        NO_COSTS,
        units=10_000,
        stop_loss_pips=2.0,
        take_profit_pips=2.0,
        close_at_end=seed % 2 == 0,
    )
    assert set(res.trades["exit_reason"]) & {"stop_loss", "take_profit"}
    assert 0 < len(res.trades) + len(res.open_trades) <= core.max_trades(sig)


def _curve(values: list[float]) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2024-01-01", periods=len(values), freq="h", tz="UTC"))


@pytest.mark.parametrize(
    "values",
    [
        # a drawdown of 10%, then values a hair either side of it (1e-10 deeper must count)
        [100.0, 90.0, 99.0, 90.0 + 1e-7, 90.0 - 1e-8, 90.0, 95.0, 90.0 * (1 - 1e-15)],
        # a deeper one under a later, higher peak
        [100.0, 80.0, 120.0, 96.0 + 1e-9, 96.0 - 1e-9, 110.0, 60.0, 60.0 - 1e-9],
        # equity through zero and below: drawdowns of 1 and more
        [100.0, 50.0, 1e-6, -20.0, 10.0, -30.0 + 1e-9, 150.0, 1.0],
        # a curve that starts at or below zero has no drawdown until a peak above zero
        [-5.0, -10.0, -1.0, 3.0, 1.0, 2.0],
    ],
)
def test_compiled_drawdown_equals_the_numpy_formula_exactly(values):
    eq = _curve(values)
    m = compute_metrics(eq, pd.DataFrame({"pnl": []}), np.zeros(len(values)), 100.0)
    depth, _ = drawdown_stats(eq)
    assert m["max_drawdown"] == depth


def test_compiled_drawdown_exact_on_long_random_curves():
    rng = np.random.default_rng(11)
    for vol in (1e-4, 1e-2, 0.2):
        values = 1e5 * np.exp(np.cumsum(rng.normal(0, vol, 20_000)))
        eq = _curve(list(values))
        m = compute_metrics(eq, pd.DataFrame({"pnl": []}), np.zeros(values.size), 1e5)
        assert m["max_drawdown"] == drawdown_stats(eq)[0] > 0
