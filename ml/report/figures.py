"""Tearsheet figures as PNG bytes (matplotlib, headless): one function per figure."""

from __future__ import annotations

import io
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")  # no display: render to memory only
import matplotlib.pyplot as plt
import numpy as np

from ml.report.data import COST_COLUMNS, Tearsheet

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _png(fig) -> bytes:
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", bbox_inches="tight")
    finally:
        plt.close(fig)
    return buf.getvalue()


def equity_drawdown_png(sheet: Tearsheet) -> bytes:
    """Equity per symbol above, drawdown (shaded, in percent) below, on one time axis."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), dpi=90, sharex=True,
                                      gridspec_kw={"height_ratios": [2, 1]})
    for symbol in sheet.equity.columns:
        top.plot(sheet.equity.index, sheet.equity[symbol], lw=1, label=symbol)
        dd = sheet.drawdown[symbol] * 100
        bottom.fill_between(dd.index, -dd.to_numpy(), 0, alpha=0.4, step="post", label=symbol)
    top.set_ylabel("equity")
    top.set_title(f"{sheet.title}: equity and drawdown")
    top.legend(loc="best", fontsize=8)
    bottom.set_ylabel("drawdown %")
    return _png(fig)


def trades_on_price_png(sheet: Tearsheet) -> bytes:
    """Mid price per symbol with long entries (^), short entries (v) and exits (x)."""
    symbols = list(sheet.prices) or list(sheet.trades)
    fig, axes = plt.subplots(len(symbols), 1, figsize=(10, 3.2 * len(symbols)), dpi=90, squeeze=False)
    for ax, symbol in zip(axes[:, 0], symbols, strict=True):
        price = sheet.prices.get(symbol)
        if price is not None:
            ax.plot(price.index, price.to_numpy(), lw=0.7, color="0.4")
        t = sheet.trades.get(symbol)
        if t is not None and len(t):
            longs, shorts = t[t["direction"] > 0], t[t["direction"] < 0]
            ax.scatter(longs["entry_time"], longs["entry_price"], marker="^", color="tab:green",
                       s=18, label=f"long entry ({len(longs)})")
            ax.scatter(shorts["entry_time"], shorts["entry_price"], marker="v", color="tab:red",
                       s=18, label=f"short entry ({len(shorts)})")
            ax.scatter(t["exit_time"], t["exit_price"], marker="x", color="k", s=12, label="exit")
            ax.legend(loc="best", fontsize=7)
        ax.set_title(f"{symbol}: trades on price", fontsize=10)
    return _png(fig)


def monthly_returns_png(sheet: Tearsheet) -> bytes:
    """Heatmap of calendar-month returns (percent), years down, months across."""
    table = sheet.monthly_returns
    fig, ax = plt.subplots(figsize=(10, 0.6 * max(1, len(table)) + 1.6), dpi=90)
    values = table.to_numpy(dtype=float) * 100
    lim = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
    ax.imshow(values, cmap="RdYlGn", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_xticks(range(12), _MONTHS)
    ax.set_yticks(range(len(table)), [str(y) for y in table.index])
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.2f}%", ha="center", va="center", fontsize=8)
    ax.set_title("monthly returns (pooled equity)")
    return _png(fig)


def rolling_sharpe_png(sheet: Tearsheet) -> bytes:
    """Annualised Sharpe over a rolling window of bars, per symbol."""
    fig, ax = plt.subplots(figsize=(10, 3.5), dpi=90)
    for symbol in sheet.rolling_sharpe.columns:
        ax.plot(sheet.rolling_sharpe.index, sheet.rolling_sharpe[symbol], lw=1, label=symbol)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_title(f"rolling Sharpe ({sheet.window} bars, annualised)")
    ax.legend(loc="best", fontsize=8)
    return _png(fig)


def costs_png(sheet: Tearsheet) -> bytes:
    """Stacked bars of spread, slippage, commission and swap per symbol, next to gross P&L."""
    table = sheet.costs.drop(index="total", errors="ignore")
    fig, ax = plt.subplots(figsize=(8, 3.5), dpi=90)
    x = np.arange(len(table))
    bottom = np.zeros(len(table))
    for col in COST_COLUMNS:
        ax.bar(x - 0.2, table[col], 0.4, bottom=bottom, label=col)
        bottom += table[col].to_numpy()
    ax.bar(x + 0.2, table["gross_pnl"], 0.4, color="0.6", label="gross P&L (after spread, slippage)")
    ax.set_xticks(x, list(table.index))
    ax.axhline(0, color="k", lw=0.5)
    ax.set_title("costs (account currency)")
    ax.legend(loc="best", fontsize=8)
    return _png(fig)


def importances_png(sheet: Tearsheet) -> bytes:
    """Horizontal bars of the permutation importances, largest on top."""
    imp = sheet.importances if sheet.importances is not None else None
    fig, ax = plt.subplots(figsize=(7, 0.3 * max(1, 0 if imp is None else len(imp)) + 1.2), dpi=90)
    if imp is not None and len(imp):
        ax.barh(list(imp.index)[::-1], imp.to_numpy()[::-1])
    ax.set_title("feature importance (mean |change in prob_up| when shuffled)")
    return _png(fig)


FIGURES: dict[str, Callable[[Tearsheet], bytes]] = {
    "equity_drawdown": equity_drawdown_png,
    "trades_on_price": trades_on_price_png,
    "monthly_returns": monthly_returns_png,
    "rolling_sharpe": rolling_sharpe_png,
    "costs": costs_png,
    "feature_importance": importances_png,
}


def render_figures(sheet: Tearsheet) -> dict[str, bytes]:
    """Every figure of the tearsheet by name (feature importance only when there are some)."""
    names = [n for n in FIGURES if n != "feature_importance" or
             (sheet.importances is not None and len(sheet.importances))]
    return {name: FIGURES[name](sheet) for name in names}
