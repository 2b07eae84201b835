"""Metrics on hand-made equity curves."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ml.backtest.metrics import compute_metrics, drawdown_stats, sharpe_ratio, sortino_ratio


def test_drawdown_depth_and_duration():
    idx = pd.date_range("2024-01-01", periods=7, freq="D", tz="UTC")
    eq = pd.Series([100, 110, 99, 105, 111, 100, 104.0], index=idx)
    depth, days = drawdown_stats(eq)
    assert depth == pytest.approx(0.1)  # 110 -> 99
    assert days == pytest.approx(3.0)  # peak on day 1, regained on day 4


def test_ratios_by_hand():
    r = np.array([0.01, -0.02, 0.03, 0.0])
    assert sharpe_ratio(r, 252) == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(252))
    assert sortino_ratio(r, 252) == pytest.approx(r.mean() / math.sqrt(0.0004 / 4) * math.sqrt(252))
    assert math.isnan(sharpe_ratio(np.zeros(5), 252))


def test_compute_metrics_trade_stats():
    idx = pd.date_range("2024-01-01", periods=366, freq="D", tz="UTC")  # exactly one year
    eq = pd.Series(np.linspace(100.0, 121.0, 366), index=idx)
    trades = pd.DataFrame({"pnl": [10.0, -5.0, 20.0, -4.0], "size": [1.0] * 4,
                           "entry_price": [1.0] * 4, "exit_price": [1.0] * 4})
    pos = np.r_[np.zeros(183), np.ones(183)]
    m = compute_metrics(eq, trades, pos, 100.0)
    assert m["total_return"] == pytest.approx(0.21)
    assert m["cagr"] == pytest.approx(1.21 ** (365.25 / 365) - 1)
    assert m["win_rate"] == 0.5 and m["profit_factor"] == pytest.approx(30 / 9)
    assert m["expectancy"] == pytest.approx(5.25) and m["exposure"] == pytest.approx(0.5)
    assert m["max_drawdown"] == 0.0 and math.isnan(m["calmar"])
    assert m["turnover"] == pytest.approx(8.0 / eq.mean())


def test_compiled_metrics_equal_the_numpy_formulas():
    # compute_metrics reads the curve in one compiled pass; the public numpy functions define it
    rng = np.random.default_rng(5)
    idx = pd.date_range("2024-01-01", periods=5_000, freq="1min", tz="UTC")
    eq = pd.Series(1e5 * np.exp(np.cumsum(rng.normal(1e-6, 1e-4, idx.size))), index=idx)
    pos = np.where(rng.random(idx.size) < 0.7, 1.0, 0.0)
    m = compute_metrics(eq, pd.DataFrame({"pnl": []}), pos, 1e5)
    values = eq.to_numpy()
    returns = np.diff(values, prepend=1e5) / np.r_[1e5, values[:-1]]
    ppy = (idx.size - 1) / ((idx[-1] - idx[0]).total_seconds() / (365.25 * 86_400))
    assert m["sharpe"] == pytest.approx(sharpe_ratio(returns, ppy), rel=1e-9)
    assert m["sortino"] == pytest.approx(sortino_ratio(returns, ppy), rel=1e-9)
    depth, days = drawdown_stats(eq)
    assert (m["max_drawdown"], m["max_drawdown_days"]) == pytest.approx((depth, days), rel=1e-12)
    assert m["exposure"] == pytest.approx(pos.mean())
