"""``sma_grid``: many (fast, slow) SMA-crossover backtests on the same bars in one parallel pass.

Each cell is the backtest that ``run_backtest(bars, sma_cross_signal(mid_close, fast, slow), ...)``
would give with the same settings (same fills, stops, costs and swaps, same tie rule); only the
summary is kept: final equity, total return, closed trades and max drawdown. Everything runs
inside numba (:mod:`ml.backtest.grid_core`) without coming back to Python per cell: the cells are
split between the available cores, and each core walks the bars in cache-sized chunks, advancing
every distinct rolling mean its cells use once per chunk, then every cell.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numba
import numpy as np
import pandas as pd

from marketdata.instruments import Instrument
from ml.backtest import grid_core
from ml.backtest.bars import load_bars
from ml.backtest.engine import kernel_settings, price_arrays
from ml.backtest.errors import BacktestError
from ml.costs import CostModel

log = logging.getLogger(__name__)

GRID_COLUMNS = ["fast", "slow", "final_equity", "total_return", "n_trades", "max_drawdown"]


def _pairs_array(pairs: Iterable[tuple[int, int]]) -> np.ndarray:
    out = []
    for pair in pairs:
        try:
            fast, slow = pair
        except (TypeError, ValueError) as exc:
            raise BacktestError(f"grid pairs must be (fast, slow) tuples, got {pair!r}") from exc
        if not all(isinstance(v, int | np.integer) and not isinstance(v, bool)
                   for v in (fast, slow)):
            raise BacktestError(f"fast and slow must be integers, got {pair!r}")
        if fast < 1 or slow < 1 or fast == slow:
            raise BacktestError(f"need 1 <= fast != slow, got fast={fast}, slow={slow}")
        out.append((int(fast), int(slow)))
    if not out:
        raise BacktestError("the grid has no (fast, slow) pair")
    return np.asarray(out, dtype=np.int64)


def sma_grid(
    bars: pd.DataFrame,
    pairs: Iterable[tuple[int, int]],
    instrument: Instrument,
    costs: CostModel | None = None,
    cash: float = 100_000.0,
    *,
    long_only: bool = False,
    close_at_end: bool = True,
    drawdown: bool = True,
    fx_bars: pd.DataFrame | None = None,
    **sizing_and_stops,
) -> pd.DataFrame:
    """Backtest an SMA crossover for every ``(fast, slow)`` in ``pairs``; one row per pair.

    ``sizing_and_stops`` takes :func:`ml.backtest.run_backtest`'s keyword settings (``units``,
    ``fraction``, ``all_in``, ``vol_target``, ``vol_lookback``, ``max_leverage``, ``lot_step``,
    ``stop_loss_pips``, ``take_profit_pips``). Everything, bars included, is validated before
    any cell runs. Columns: ``GRID_COLUMNS``; max_drawdown as in
    :func:`ml.backtest.metrics.drawdown_stats`, or NaN with ``drawdown=False``, which skips the
    per-bar equity marks that only the drawdown needs. Money is in ``costs.account_currency``
    (``fx_bars`` as in :func:`ml.backtest.run_backtest`).
    """
    allowed = {"units", "fraction", "all_in", "vol_target", "vol_lookback", "max_leverage",
               "lot_step", "stop_loss_pips", "take_profit_pips"}
    unknown = set(sizing_and_stops) - allowed
    if unknown:
        raise BacktestError(f"unknown grid settings {sorted(unknown)}; allowed: {sorted(allowed)}")
    grid = _pairs_array(pairs)
    costs = costs or CostModel()
    b = load_bars(bars)
    plan, charges = kernel_settings(b, instrument, costs, cash, close_at_end=close_at_end,
                                    fx_bars=fx_bars, **sizing_and_stops)
    windows, rows = np.unique(grid, return_inverse=True)
    rows = rows.reshape(grid.shape).astype(np.int64)
    mid = np.ascontiguousarray(b.mid_close)
    if not (np.isfinite(mid).all() and (mid > 0).all()):  # load_bars guarantees it; the kernel
        raise BacktestError("mid prices must be finite and > 0")  # relies on it
    cells = grid_core.grid_cells(mid, windows, rows[:, 0].copy(), rows[:, 1].copy(),
                                 bool(long_only), price_arrays(b), plan, charges,
                                 bool(drawdown), numba.get_num_threads())
    final = cells[:, grid_core.G_FINAL_EQUITY]
    out = pd.DataFrame({
        "fast": grid[:, 0], "slow": grid[:, 1], "final_equity": final,
        "total_return": final / float(cash) - 1.0,
        "n_trades": cells[:, grid_core.G_TRADES].astype(np.int64),
        "max_drawdown": cells[:, grid_core.G_MAX_DRAWDOWN],
    })
    log.debug("sma grid: %d cells on %d bars, %d distinct windows", len(out), len(b), len(windows))
    return out[GRID_COLUMNS]
