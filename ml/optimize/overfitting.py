"""Overfitting statistics for a selected strategy: deflated Sharpe, PBO (CSCV), Monte Carlo drawdowns.

Plain functions of numpy arrays so the model promotion gate can call them too.

* Deflated Sharpe ratio (Bailey & López de Prado, 2014): the probability that the true Sharpe
  ratio exceeds the best one expected from ``n_trials`` unskilled trials, correcting for the
  sample length, skewness and kurtosis of the returns.
* Probability of backtest overfitting (Bailey, Borwein, López de Prado & Zhu, 2015), by
  combinatorially symmetric cross-validation: how often the in-sample best configuration ranks
  in the bottom half out of sample.
* Monte Carlo resampling of the trade order: the distribution of the maximum drawdown that the
  same trades could have produced in another order.
"""

from __future__ import annotations

import itertools
import math
from statistics import NormalDist

import numpy as np

_EULER_GAMMA = 0.5772156649015329
_N = NormalDist()


def _sharpe(returns: np.ndarray) -> float:
    sd = returns.std(ddof=1)
    return float(returns.mean() / sd) if sd > 0 else 0.0


def expected_max_sharpe(n_trials: int, sr_variance: float) -> float:
    """Expected maximum per-period Sharpe among ``n_trials`` zero-skill trials (the DSR's SR0)."""
    if n_trials < 1:
        raise ValueError("n_trials must be >= 1")
    if n_trials == 1:
        return 0.0
    return math.sqrt(sr_variance) * (
        (1 - _EULER_GAMMA) * _N.inv_cdf(1 - 1 / n_trials)
        + _EULER_GAMMA * _N.inv_cdf(1 - 1 / (n_trials * math.e))
    )


def deflated_sharpe_ratio(returns, n_trials: int, sr_variance: float | None = None) -> float:
    """Probability (0..1) that the Sharpe ratio of ``returns`` beats ``n_trials`` lucky trials.

    ``returns`` are per-period returns of the selected strategy; ``sr_variance`` is the variance
    of the per-period (not annualised) Sharpe ratios across the trials. Without it, the variance
    of a Sharpe estimate under the null, 1/(T-1), is used.
    """
    r = np.asarray(returns, dtype=float)
    r = r[np.isfinite(r)]
    t = r.size
    if t < 3:
        raise ValueError("deflated_sharpe_ratio needs at least 3 returns")
    sr = _sharpe(r)
    var = 1.0 / (t - 1) if sr_variance is None else float(sr_variance)
    if var < 0:
        raise ValueError("sr_variance must be >= 0")
    sd = r.std()
    if sd == 0:
        return 0.0
    z = (r - r.mean()) / sd
    return deflated_sharpe_from_stats(sr, t, float(np.mean(z**3)), float(np.mean(z**4)), n_trials, var)


def probability_of_backtest_overfitting(perf_matrix: np.ndarray, n_splits: int = 16) -> float:
    """PBO by CSCV on a (periods x configurations) matrix of per-period returns.

    Rows are cut into ``n_splits`` (even) contiguous blocks; every half of the blocks serves once
    as in-sample, the rest as out-of-sample. For each split the in-sample best configuration (by
    Sharpe) gets its out-of-sample relative rank w; PBO is the share of splits with logit(w) <= 0.
    """
    m = np.asarray(perf_matrix, dtype=float)
    if m.ndim != 2 or m.shape[1] < 2:
        raise ValueError("perf_matrix must be 2-D with at least two configurations (columns)")
    if n_splits < 2 or n_splits % 2:
        raise ValueError("n_splits must be an even number >= 2")
    if m.shape[0] < 2 * n_splits:
        raise ValueError(f"need at least {2 * n_splits} rows for {n_splits} splits")
    if not np.isfinite(m).all():
        raise ValueError("perf_matrix has NaN or infinite values")
    blocks = np.array_split(np.arange(m.shape[0]), n_splits)
    count = np.array([len(b) for b in blocks], dtype=float)
    s1 = np.stack([m[b].sum(axis=0) for b in blocks])  # (splits, N)
    s2 = np.stack([(m[b] ** 2).sum(axis=0) for b in blocks])
    n_cfg = m.shape[1]
    logits = []
    for combo in itertools.combinations(range(n_splits), n_splits // 2):
        is_mask = np.zeros(n_splits, dtype=bool)
        is_mask[list(combo)] = True
        perf = []
        for mask in (is_mask, ~is_mask):
            n = count[mask].sum()
            mean = s1[mask].sum(axis=0) / n
            var = np.maximum(s2[mask].sum(axis=0) / n - mean**2, 0.0) * n / (n - 1)
            sd = np.sqrt(var)
            perf.append(np.divide(mean, sd, out=np.zeros_like(mean), where=sd > 0))
        best = int(np.argmax(perf[0]))
        rank = 1 + np.sum(perf[1] < perf[1][best]) + 0.5 * (np.sum(perf[1] == perf[1][best]) - 1)
        w = rank / (n_cfg + 1)
        logits.append(math.log(w / (1 - w)))
    return float(np.mean(np.asarray(logits) <= 0))


def monte_carlo_drawdowns(trade_pnls, n: int = 1000, seed: int | None = 0,
                          initial_equity: float | None = None, replace: bool = False) -> np.ndarray:
    """Maximum drawdowns of ``n`` reshuffles of the trades' order (bootstrap if ``replace``).

    Returns an array of ``n`` positive numbers: in currency, or as a fraction of the running
    peak when ``initial_equity`` is given.
    """
    pnl = np.asarray(trade_pnls, dtype=float)
    if pnl.ndim != 1 or pnl.size == 0 or not np.isfinite(pnl).all():
        raise ValueError("trade_pnls must be a non-empty 1-D array of finite numbers")
    if n < 1:
        raise ValueError("n must be >= 1")
    rng = np.random.default_rng(seed)
    if replace:
        paths = rng.choice(pnl, size=(n, pnl.size), replace=True)
    else:
        paths = rng.permuted(np.broadcast_to(pnl, (n, pnl.size)), axis=1)
    start = 0.0 if initial_equity is None else float(initial_equity)
    equity = start + np.cumsum(paths, axis=1)
    equity = np.concatenate([np.full((n, 1), start), equity], axis=1)
    peak = np.maximum.accumulate(equity, axis=1)
    if initial_equity is None:
        return (peak - equity).max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(peak > 0, (peak - equity) / peak, 1.0)
    return frac.max(axis=1)


def _moments(returns) -> tuple[np.ndarray, float, float, float]:
    r = np.asarray(returns, dtype=float)
    r = r[np.isfinite(r)]
    if r.size < 3:
        raise ValueError("need at least 3 returns")
    sd = r.std()
    if sd == 0:
        return r, 0.0, 0.0, 3.0
    z = (r - r.mean()) / sd
    return r, _sharpe(r), float(np.mean(z**3)), float(np.mean(z**4))


def sharpe_z(sr: float, sr_benchmark: float, t: int, skew: float, kurt: float) -> float:
    """The PSR's z statistic: (SR - SR*) sqrt(T-1) / sqrt(1 - skew SR + (kurt-1)/4 SR^2).

    ``sr`` and ``sr_benchmark`` are per period; ``kurt`` is the plain (not excess) kurtosis.
    """
    denom = 1 - skew * sr + (kurt - 1) / 4 * sr**2
    if denom <= 0:
        return math.inf if sr > sr_benchmark else -math.inf
    return (sr - sr_benchmark) * math.sqrt(t - 1) / math.sqrt(denom)


def deflated_sharpe_from_stats(sr: float, t: int, skew: float, kurt: float, n_trials: int,
                               sr_variance: float) -> float:
    """DSR from summary statistics (per-period SR, sample length, skewness, plain kurtosis, the
    number of trials and the variance of their per-period Sharpe ratios)."""
    return _N.cdf(sharpe_z(sr, expected_max_sharpe(n_trials, sr_variance), t, skew, kurt))


def probabilistic_sharpe_ratio(returns, sr_benchmark: float = 0.0) -> float:
    """PSR (Bailey & López de Prado, 2012): P(true per-period Sharpe > ``sr_benchmark``)."""
    r, sr, skew, kurt = _moments(returns)
    if r.std() == 0:
        return 0.0
    return _N.cdf(sharpe_z(sr, sr_benchmark, r.size, skew, kurt))


def min_track_record_length(returns, sr_benchmark: float = 0.0, confidence: float = 0.95) -> float:
    """MinTRL: how many periods of these returns it takes for PSR to reach ``confidence``;
    infinite when the observed Sharpe does not beat the benchmark."""
    _, sr, skew, kurt = _moments(returns)
    if sr <= sr_benchmark:
        return math.inf
    z = _N.inv_cdf(confidence)
    return 1 + (1 - skew * sr + (kurt - 1) / 4 * sr**2) * (z / (sr - sr_benchmark)) ** 2


def bootstrap_ci(returns, periods_per_year: float, n: int = 500, block: int | None = None,
                 level: float = 0.90, seed: int | None = 0) -> dict[str, float]:
    """Moving-block bootstrap confidence intervals of the annualised Sharpe and the maximum
    drawdown (fraction of the peak) of per-period ``returns``.

    Blocks (default ~sqrt(T) periods) keep the serial correlation of intraday returns.
    """
    r = np.asarray(returns, dtype=float)
    r = r[np.isfinite(r)]
    t = r.size
    if t < 3:
        raise ValueError("bootstrap_ci needs at least 3 returns")
    b = max(1, min(t, block or int(math.sqrt(t))))
    rng = np.random.default_rng(seed)
    k = -(-t // b)
    starts = rng.integers(0, t - b + 1, size=(n, k))
    paths = r[(starts[:, :, None] + np.arange(b)).reshape(n, -1)[:, :t]]
    sd = paths.std(axis=1, ddof=1)
    sharpe = np.divide(paths.mean(axis=1), sd, out=np.zeros(n), where=sd > 0) * math.sqrt(periods_per_year)
    equity = np.cumprod(1 + paths, axis=1)
    peak = np.maximum.accumulate(np.maximum(equity, 1.0), axis=1)
    dd = (1 - equity / peak).max(axis=1)
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    return {"sharpe_ci_low": float(np.percentile(sharpe, lo)),
            "sharpe_ci_high": float(np.percentile(sharpe, hi)),
            "max_drawdown_ci_low": float(np.percentile(dd, lo)),
            "max_drawdown_ci_high": float(np.percentile(dd, hi))}
