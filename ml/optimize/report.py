"""A heatmap of a two-parameter search as PNG bytes (matplotlib, headless)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display: render to memory only
import matplotlib.pyplot as plt
import pandas as pd

from ml.optimize.walkforward import OptimizationError


def heatmap_png(table: pd.DataFrame, x: str, y: str, value: str = "oos_sharpe") -> bytes:
    """PNG of ``value`` over the (x, y) parameter grid; the mean where other parameters vary."""
    for col in (x, y, value):
        if col not in table.columns:
            raise OptimizationError(f"heatmap column {col!r} not in the search table")
    grid = table.pivot_table(index=y, columns=x, values=value, aggfunc="mean").sort_index()
    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=100)
    try:
        im = ax.imshow(grid.to_numpy(), origin="lower", aspect="auto", cmap="RdYlGn")
        ax.set_xticks(range(len(grid.columns)), [str(c) for c in grid.columns])
        ax.set_yticks(range(len(grid.index)), [str(i) for i in grid.index])
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.set_title(f"{value} by {x} x {y}")
        fig.colorbar(im, ax=ax, label=value)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight")
    finally:
        plt.close(fig)
    return buf.getvalue()
