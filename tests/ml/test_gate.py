"""The promotion gate, criterion by criterion, and its statistics against worked values."""

import math

import numpy as np
import pandas as pd
import pytest

from ml.gate_figures import bars_per_trading_year, return_figures
from ml.optimize.overfitting import (
    deflated_sharpe_from_stats,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    min_track_record_length,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
    sharpe_z,
)
from ml.registry import PromotionGate

PASSING = {"sharpe": 2.0, "max_drawdown": 0.02, "n_trades": 80.0, "dsr": 0.99, "psr": 0.999,
           "n_bars": 5000.0, "min_trl": 1200.0, "n_trials": 12.0, "lookahead_changes": 0.0}

# one metric set per criterion: each misses that criterion and nothing else
ONLY_ONE = {
    "sharpe": {"sharpe": 0.9},
    "max_drawdown": {"max_drawdown": 0.11},
    "n_trades": {"n_trades": 29.0},
    "deflated sharpe": {"dsr": 0.94},
    "probabilistic sharpe": {"psr": 0.94},
    "track record": {"min_trl": 5001.0},
    "look-ahead": {"lookahead_changes": 3.0},
    "pbo": {"pbo": 0.6},
    "holdout sharpe": {"holdout_sharpe": -0.5},
}


def test_a_metric_set_that_meets_every_criterion_passes():
    assert PromotionGate().failures(PASSING) == []


@pytest.mark.parametrize("criterion", list(ONLY_ONE))
def test_each_criterion_alone_can_fail_the_gate(criterion):
    failures = PromotionGate().failures({**PASSING, **ONLY_ONE[criterion]})
    assert len(failures) == 1 and failures[0].startswith(criterion), failures


def test_a_missing_lookahead_check_fails_and_nan_figures_fail():
    m = dict(PASSING)
    del m["lookahead_changes"]
    assert PromotionGate().failures(m) == ["look-ahead check not run"]
    assert len(PromotionGate().failures({**PASSING, "dsr": math.nan})) == 1


def test_dsr_matches_the_papers_worked_example():
    # Bailey & López de Prado (2014), "The Deflated Sharpe Ratio", section 6: annualised SR 2.5
    # over T = 1250 daily returns, N = 100 trials with annualised V[SR] = 0.5, skew -3, kurt 10.
    sr, var, t = 2.5 / math.sqrt(250), 0.5 / 250, 1250
    assert expected_max_sharpe(100, var) == pytest.approx(0.1132, abs=1e-3)
    assert NormalDist_cdf(sharpe_z(sr, 0.1132, t, -3.0, 10.0)) == pytest.approx(0.9004, abs=2e-4)
    assert deflated_sharpe_from_stats(sr, t, -3.0, 10.0, 100, var) == pytest.approx(0.9004, abs=3e-3)
    # the skew's sign matters: negative skew lowers confidence, positive raises it
    assert deflated_sharpe_from_stats(sr, t, 3.0, 10.0, 100, var) > 0.93


def NormalDist_cdf(z):
    from statistics import NormalDist

    return NormalDist().cdf(z)


def test_dsr_of_returns_uses_their_skew_with_the_right_sign():
    rng = np.random.default_rng(3)
    base = rng.normal(0.02, 1.0, 2000)
    left = np.where(base < -1.5, base * 3, base)  # a fat left tail: negative skew
    left = left - left.mean() + 0.05
    right = -left + 2 * left.mean()  # the mirror image: same mean and sd, positive skew
    # with a Sharpe above the benchmark, negative skew must lower the confidence
    assert deflated_sharpe_ratio(left, 1) < deflated_sharpe_ratio(right, 1) - 0.01


def test_psr_and_min_trl_agree():
    rng = np.random.default_rng(0)
    r = rng.normal(0.05, 1.0, 4000)
    trl = min_track_record_length(r)
    assert 0 < trl < len(r) and probabilistic_sharpe_ratio(r) > 0.95
    # exactly MinTRL periods of the same moments give PSR = 0.95
    sd = r.std()
    z = (r - r.mean()) / sd
    sr = r.mean() / r.std(ddof=1)
    psr_at_trl = NormalDist_cdf(sharpe_z(sr, 0.0, trl, float(np.mean(z**3)), float(np.mean(z**4))))
    assert psr_at_trl == pytest.approx(0.95, abs=1e-3)
    assert min_track_record_length(-r) == math.inf


def test_pbo_worked_values():
    # Config 0 is best in-sample in every half and worst out of sample: PBO 1. Config 0 best
    # everywhere: PBO 0. Blocks of 4 rows, 2 splits -> 2 combinations.
    a = np.array([1.0, 1.1, 0.9, 1.0, -1.0, -0.9, -1.1, -1.0])
    b = np.array([-1.0, -0.9, -1.1, -1.0, 1.0, 1.1, 0.9, 1.0])
    assert probability_of_backtest_overfitting(np.column_stack([a, b]), n_splits=2) == 1.0
    good = np.column_stack([np.abs(a) + 0.1 * np.arange(8) % 0.3, -np.abs(b)])
    assert probability_of_backtest_overfitting(good, n_splits=2) == 0.0


def test_pbo_hand_computed_over_six_combinations():
    # Config A has block means 5, 2, -3, -1 (rows m+1, m-1: spread, so the Sharpe's sign is the
    # mean's); config B is flat (Sharpe 0 everywhere). 4 blocks -> C(4,2) = 6 in/out splits. A is
    # best in sample iff its in-sample mean > 0, and B otherwise; the choice is overfit (rank 1 of
    # 2, logit < 0) when A's in- and out-of-sample means differ in sign:
    #   IS {0,1} 7 | OOS -4 overfit   IS {0,2} 2 | OOS 1 fine   IS {0,3} 4 | OOS -1 overfit
    #   IS {1,2} -1 | OOS 4 overfit   IS {1,3} 1 | OOS 2 fine   IS {2,3} -4 | OOS 7 overfit
    a = np.repeat([5.0, 2.0, -3.0, -1.0], 2) + np.tile([1.0, -1.0], 4)
    m = np.column_stack([a, np.zeros(8)])
    assert probability_of_backtest_overfitting(m, n_splits=4) == pytest.approx(4 / 6)
    # flipping the sign of every return of A flips both means: the same four splits are overfit
    assert probability_of_backtest_overfitting(-m, n_splits=4) == pytest.approx(4 / 6)


def test_pbo_threshold_is_recorded_and_only_judged_when_computed():
    assert PromotionGate().thresholds()["max_pbo"] == 0.5
    assert PromotionGate().failures({**PASSING, "pbo": 0.5}) == []
    assert PromotionGate(max_pbo=0.3).failures({**PASSING, "pbo": 0.4})[0].startswith("pbo 0.400 > 0.3")
    assert len(PromotionGate().failures({**PASSING, "pbo": math.nan})) == 1


def test_sharpe_is_annualised_in_trading_time():
    idx = pd.date_range("2024-01-01", periods=5000, freq="1min", tz="UTC")
    assert bars_per_trading_year(idx) == 260 * 1440
    r = pd.Series(np.random.default_rng(1).normal(1e-5, 1e-4, 5000), index=idx)
    fig = return_figures(r, n_trials=10, bootstrap=100)
    per_bar = r.mean() / r.std()
    assert fig["sharpe"] == pytest.approx(per_bar * math.sqrt(260 * 1440), rel=1e-9)
    assert fig["sharpe_ci_low"] < fig["sharpe"] < fig["sharpe_ci_high"]
    assert 0 <= fig["max_drawdown_ci_low"] <= fig["max_drawdown_ci_high"]
    assert fig["dsr"] < return_figures(r, n_trials=1, bootstrap=0)["dsr"]
