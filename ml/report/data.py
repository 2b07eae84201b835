"""The numbers behind a tearsheet: equity, drawdown, monthly returns, rolling Sharpe, costs, trades.

Everything here is plain pandas over one or more :class:`ml.backtest.BacktestResult` (one per
symbol); the figures and the HTML page only draw what these functions return, so tests can check
a report against the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ml.backtest.metrics import bars_per_year

COST_COLUMNS = ["spread", "slippage", "commission", "swap"]


@dataclass
class Tearsheet:
    """One report's data: per-symbol curves and trades, pooled tables, optional importances."""

    title: str
    equity: pd.DataFrame  # ts index, one column per symbol
    drawdown: pd.DataFrame  # same shape, positive fractions of the running peak
    rolling_sharpe: pd.DataFrame  # same shape, annualised over ``window`` bars
    monthly_returns: pd.DataFrame  # year x month (1..12), fractions, pooled equity
    costs: pd.DataFrame  # symbol x COST_COLUMNS + gross_pnl, net_pnl (account currency)
    trades: dict[str, pd.DataFrame]  # symbol -> closed trades
    prices: dict[str, pd.Series]  # symbol -> mid close, for trades on price
    metrics: dict[str, dict[str, float]]  # symbol -> headline metrics
    importances: pd.Series | None = None  # feature -> importance, descending
    window: int = 0
    notes: dict[str, str] = field(default_factory=dict)


def drawdown(equity: pd.Series) -> pd.Series:
    """Drawdown as a positive fraction of the running peak."""
    peak = equity.cummax()
    return (1.0 - equity / peak).where(peak > 0, 0.0)


def rolling_sharpe(equity: pd.Series, window: int) -> pd.Series:
    """Annualised Sharpe of per-bar returns over the last ``window`` bars (NaN until full)."""
    returns = equity.pct_change()
    ppy = bars_per_year(pd.DatetimeIndex(equity.index))
    scale = math.sqrt(ppy) if ppy == ppy else math.nan
    roll = returns.rolling(window, min_periods=window)
    sd = roll.std(ddof=1)
    return (roll.mean() / sd.where(sd > 0)) * scale


def monthly_returns(equity: pd.Series) -> pd.DataFrame:
    """Calendar-month returns of ``equity`` as a year x month table (month 1..12 columns)."""
    if equity.empty:
        return pd.DataFrame(columns=range(1, 13), dtype=float)
    idx = pd.DatetimeIndex(equity.index)
    ends = equity.groupby([idx.year, idx.month]).last()
    starts = equity.groupby([idx.year, idx.month]).first()
    prev = ends.shift(1)
    # the first month is measured from its first mark; later ones from the previous month's end
    base = prev.fillna(starts)
    table = (ends / base - 1.0).rename_axis(["year", "month"]).unstack("month")
    return table.reindex(columns=range(1, 13))


def cost_breakdown(trades: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per symbol: the spread and slippage paid (inside the fill prices), commission, swap,
    gross and net P&L of the closed trades, in the account currency; a ``total`` row last."""
    rows = {}
    for symbol, t in trades.items():
        rows[symbol] = {**{c: float(t[c].sum()) if len(t) else 0.0 for c in COST_COLUMNS},
                        "gross_pnl": float(t["gross_pnl"].sum()) if len(t) else 0.0,
                        "net_pnl": float(t["pnl"].sum()) if len(t) else 0.0,
                        "n_trades": float(len(t))}
    table = pd.DataFrame.from_dict(rows, orient="index",
                                   columns=[*COST_COLUMNS, "gross_pnl", "net_pnl", "n_trades"])
    if len(table):
        table.loc["total"] = table.sum()
    return table


def _mid_close(bars: pd.DataFrame) -> pd.Series:
    ts = pd.DatetimeIndex(pd.to_datetime(bars["ts"], utc=True))
    return pd.Series(((bars["bid_close"] + bars["ask_close"]) / 2).to_numpy(), index=ts, name="mid")


def build_tearsheet(title: str, results: dict, bars: dict[str, pd.DataFrame] | None = None,
                    importances: pd.Series | None = None, window: int | None = None) -> Tearsheet:
    """A tearsheet from per-symbol backtest ``results`` (``BacktestResult``) and their ``bars``.

    The rolling-Sharpe ``window`` defaults to a tenth of the shortest curve (at least 30 bars).
    Monthly returns use the pooled equity (the per-symbol accounts summed).
    """
    if not results:
        raise ValueError("a tearsheet needs at least one backtest result")
    equity = pd.concat({s: r.equity for s, r in results.items()}, axis=1).sort_index()
    shortest = min(len(r.equity) for r in results.values())
    window = window or max(30, shortest // 10)
    pooled = equity.ffill().bfill().sum(axis=1)
    prices = {s: _mid_close(b) for s, b in (bars or {}).items() if s in results}
    return Tearsheet(
        title=title,
        equity=equity,
        drawdown=pd.concat({s: drawdown(r.equity) for s, r in results.items()}, axis=1).sort_index(),
        rolling_sharpe=pd.concat({s: rolling_sharpe(r.equity, window) for s, r in results.items()},
                                 axis=1).sort_index(),
        monthly_returns=monthly_returns(pooled),
        costs=cost_breakdown({s: r.trades for s, r in results.items()}),
        trades={s: r.trades for s, r in results.items()},
        prices=prices,
        metrics={s: {k: float(v) for k, v in r.metrics.items()} for s, r in results.items()},
        importances=importances,
        window=window,
    )


def summary_table(sheet: Tearsheet) -> pd.DataFrame:
    """Headline metrics, one row per symbol (the markdown table in Dagster and the HTML page)."""
    keys = ["total_return", "sharpe", "sortino", "max_drawdown", "n_trades", "win_rate",
            "profit_factor", "exposure"]
    return pd.DataFrame({s: {k: m.get(k, np.nan) for k in keys} for s, m in sheet.metrics.items()}).T
