"""Overfitting statistics on data whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ml.optimize import (
    deflated_sharpe_ratio,
    monte_carlo_drawdowns,
    probability_of_backtest_overfitting,
)
from ml.optimize.overfitting import expected_max_sharpe


def test_deflated_sharpe_falls_with_the_number_of_trials():
    rng = np.random.default_rng(1)
    r = rng.normal(0.001, 0.01, 2000)  # per-period Sharpe ~0.1: real skill over 2000 periods
    one = deflated_sharpe_ratio(r, 1)
    many = deflated_sharpe_ratio(r, 1000, sr_variance=0.05**2)
    assert one > 0.99 and many < one
    noise = rng.normal(0, 0.01, 2000)
    assert deflated_sharpe_ratio(noise, 100) < 0.2
    # one trial: SR0 = 0, so DSR is the probabilistic Sharpe ratio against zero
    assert expected_max_sharpe(1, 0.1) == 0.0
    sr0 = expected_max_sharpe(100, 0.01)
    assert 0.2 < sr0 < 0.3  # ~2.5 standard deviations of the trials' Sharpe spread
    with pytest.raises(ValueError):
        deflated_sharpe_ratio([0.1, 0.2], 10)


def test_pbo_high_for_noise_low_for_a_real_edge():
    rng = np.random.default_rng(2)
    noise = rng.normal(0, 0.01, (800, 40))
    pbo_noise = probability_of_backtest_overfitting(noise, n_splits=8)
    edge = noise.copy()
    edge[:, 7] += 0.004
    pbo_edge = probability_of_backtest_overfitting(edge, n_splits=8)
    assert pbo_edge == 0.0
    assert 0.2 < pbo_noise < 0.8
    # a strategy that is best in-sample only because of a lucky first half: overfit
    trap = rng.normal(0, 0.01, (800, 10))
    trap[:400, 0] += 0.01
    trap[400:, 0] -= 0.01
    assert probability_of_backtest_overfitting(trap, n_splits=2) == 1.0
    with pytest.raises(ValueError):
        probability_of_backtest_overfitting(noise, n_splits=7)
    with pytest.raises(ValueError):
        probability_of_backtest_overfitting(noise[:, :1])


def test_monte_carlo_drawdowns():
    pnl = np.array([10.0, -5.0, 3.0, -8.0, 12.0, -2.0])
    dd = monte_carlo_drawdowns(pnl, n=2000, seed=3)
    assert dd.shape == (2000,)
    # every order has a drawdown at least the worst single loss, at most the sum of losses
    assert dd.min() >= 8.0 - 1e-12 and dd.max() <= 15.0 + 1e-12
    assert np.isclose(dd, 15.0).any()  # all losses in a row happens in some order
    again = monte_carlo_drawdowns(pnl, n=2000, seed=3)
    np.testing.assert_array_equal(dd, again)
    frac = monte_carlo_drawdowns(pnl, n=100, seed=3, initial_equity=100.0)
    assert ((frac > 0) & (frac < 0.2)).all()
    boot = monte_carlo_drawdowns(pnl, n=500, seed=4, replace=True)
    assert boot.max() > 15.0  # with replacement, a loss can repeat
    with pytest.raises(ValueError):
        monte_carlo_drawdowns([], n=10)
    assert not math.isnan(float(dd.mean()))
