"""The figures the promotion gate judges and the registry shows, from per-bar returns.

Sharpe ratios are annualised in trading time: FX trades about 260 weekdays a year, so a
1-minute series has 260 x 1440 = 374,400 bars a year; weekends are out. The deflated Sharpe
ratio (DSR) deflates by every trial in the model's ledger; the probabilistic Sharpe ratio (PSR)
and the minimum track-record length (MinTRL) say whether the out-of-sample window is long enough
to tell the Sharpe from zero; bootstrap intervals show how wide the Sharpe and drawdown are.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

TRADING_DAYS_PER_YEAR = 260
ANNUALISATION = f"trading time: {TRADING_DAYS_PER_YEAR} weekdays x 24 h a year, weekends out"


def bars_per_trading_year(index: pd.DatetimeIndex) -> float:
    """Bars in a trading year at the series' typical (median) bar spacing."""
    if len(index) < 2:
        return math.nan
    step = float(np.median(np.diff(index.asi8))) / 1e9
    return TRADING_DAYS_PER_YEAR * 86_400 / step if step > 0 else math.nan


def portfolio_returns(equities: list[pd.Series]) -> pd.Series:
    """Equal-weight per-bar returns of several equity curves (a symbol not trading adds 0)."""
    if not equities:
        return pd.Series(dtype=float)
    frame = pd.concat([e.pct_change() for e in equities], axis=1).sort_index()
    return frame.fillna(0.0).mean(axis=1).iloc[1:]


def return_figures(returns: pd.Series, n_trials: int = 1, sr_variance: float | None = None,
                   bootstrap: int = 300) -> dict[str, float]:
    """Sharpe (annualised, trading time), DSR, PSR, MinTRL (bars), bootstrap CIs, bar count."""
    # imported here: the registry (and so the realtime service) imports this module for its
    # constants, and ml.optimize pulls in the backtest engine
    from ml.optimize.overfitting import (
        bootstrap_ci,
        deflated_sharpe_ratio,
        min_track_record_length,
        probabilistic_sharpe_ratio,
    )

    r = returns.to_numpy(dtype=float)
    r = r[np.isfinite(r)]
    ppy = bars_per_trading_year(pd.DatetimeIndex(returns.index)) if len(returns) > 1 else math.nan
    out = {"n_bars": float(r.size), "bars_per_year": ppy, "n_trials": float(max(1, n_trials))}
    if r.size < 3 or not r.std() > 0 or not math.isfinite(ppy):
        return {**out, "sharpe": math.nan, "dsr": math.nan, "psr": math.nan, "min_trl": math.inf,
                "sharpe_ci_low": math.nan, "sharpe_ci_high": math.nan,
                "max_drawdown_ci_low": math.nan, "max_drawdown_ci_high": math.nan}
    var = 1.0 / (r.size - 1)
    if sr_variance is not None and math.isfinite(sr_variance):
        var = max(var, sr_variance)  # never deflate by less than a Sharpe estimate's own noise
    return {
        **out,
        "sharpe": float(r.mean() / r.std(ddof=1) * math.sqrt(ppy)),
        "dsr": deflated_sharpe_ratio(r, max(1, n_trials), var),
        "psr": probabilistic_sharpe_ratio(r),
        "min_trl": min_track_record_length(r),
        **(bootstrap_ci(r, ppy, n=bootstrap) if bootstrap else {}),
    }
