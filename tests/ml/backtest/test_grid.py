"""The SMA grid: every cell equals the plain-Python reference loop and ``run_backtest``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from marketdata.instruments import get_instrument
from ml.backtest import BacktestError, CostModel, run_backtest
from ml.backtest.grid import GRID_COLUMNS, sma_grid
from ml.backtest.grid_core import rolling_means
from ml.backtest.strategies import sma_cross_signal
from tests.ml.backtest.helpers import random_bars
from tests.ml.backtest.reference import reference_backtest

EURUSD = get_instrument("EURUSD")


def _mid(bars: pd.DataFrame) -> np.ndarray:
    return (0.5 * (bars["bid_close"] + bars["ask_close"])).to_numpy()


def _reference_cell(bars, fast, slow, inst, long_only=False, **cfg):
    eq, trades = reference_backtest(bars, sma_cross_signal(_mid(bars), fast, slow, long_only),
                                    inst.pip_size, inst.contract_size, inst.swap_long,
                                    inst.swap_short, **cfg)
    eq = np.asarray(eq)
    peak = np.maximum.accumulate(eq)
    return eq[-1], len(trades), float(np.max(np.where(peak > 0, 1.0 - eq / peak, 0.0)))


def test_rolling_means_equal_pandas_bit_for_bit():
    rng = np.random.default_rng(5)
    x = 1.1 * np.exp(np.cumsum(rng.normal(0, 1e-3, 10_000)))  # more than two chunks
    x[100:160] = 1.25  # a run of equal values: pandas returns the value itself
    x[4090:4200] = 1.5  # ... across a chunk boundary
    x[6000:6300] = np.round(x[6000:6300], 3)
    tiny = np.r_[1e-300, 1e300, np.full(50, 1e-300), rng.uniform(1e-5, 1e5, 200)]
    for values, windows in ((x, [1, 2, 3, 7, 10, 30, 61, 400, 5000]), (tiny, [2, 3, 17])):
        means = rolling_means(values, np.array(windows))
        assert means.shape == (len(windows), len(values))
        for row, w in zip(means, windows, strict=True):
            expected = pd.Series(values).rolling(int(w)).mean().to_numpy()
            np.testing.assert_array_equal(row, expected, err_msg=f"window {w}")


def test_every_cell_of_a_20_cell_grid_equals_the_reference_loop():
    bars = random_bars(20_000, seed=21, freq="1min", vol=2e-4)
    pairs = [(f, s) for f in (3, 8, 15, 24) for s in (30, 45, 70, 110, 160)]
    cfg = dict(commission_per_lot=3.5, slippage_pips=0.1, slippage_spread_frac=0.2)
    costs = CostModel(apply_swap=False, **cfg)
    grid = sma_grid(bars, pairs, EURUSD, costs, cash=50_000.0, units=20_000.0)
    assert list(grid.columns) == GRID_COLUMNS and len(grid) == 20
    assert list(zip(grid["fast"], grid["slow"], strict=True)) == pairs
    for row in grid.itertuples():
        final, n_trades, max_dd = _reference_cell(bars, row.fast, row.slow, EURUSD,
                                                  units=20_000.0, cash=50_000.0,
                                                  apply_swap=False, **cfg)
        assert row.n_trades == n_trades > 20, (row.fast, row.slow)
        assert row.final_equity == pytest.approx(final, rel=1e-10, abs=1e-7)
        assert row.max_drawdown == pytest.approx(max_dd, rel=1e-9, abs=1e-12)
        assert row.total_return == pytest.approx(final / 50_000.0 - 1.0, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("case", [
    dict(fraction=1.5, long_only=True, close_at_end=False),
    dict(units=40_000.0, sl_pips=12.0, tp_pips=20.0),
    dict(all_in=0.5, sl_pips=8.0, long_only=True),
])
def test_stops_swaps_and_sizing_cells_equal_the_reference_loop(case):
    inst = get_instrument("GBPJPY") if "all_in" in case else EURUSD
    scale = 180.0 if inst.symbol == "GBPJPY" else 1.0
    bars = random_bars(2_500, seed=22, freq="1h", pip=inst.pip_size / scale)
    cols = [c for c in bars.columns if c.startswith(("bid_", "ask_"))] + ["spread_mean"]
    bars[cols] *= scale
    cfg = dict(commission_per_lot=5.0, slippage_pips=0.2)
    case = dict(case)
    long_only = case.pop("long_only", False)
    close_at_end = case.pop("close_at_end", True)
    stops = {"stop_loss_pips": case.pop("sl_pips", None),
             "take_profit_pips": case.pop("tp_pips", None)}
    pairs = [(4, 12), (6, 30), (10, 21)]
    # the reference loop books in the quote currency: a JPY account for GBPJPY
    grid = sma_grid(bars, pairs, inst, CostModel(**cfg, account_currency=inst.symbol[-3:]),
                    long_only=long_only,
                    close_at_end=close_at_end, **case, **stops)
    for row in grid.itertuples():
        final, n_trades, max_dd = _reference_cell(
            bars, row.fast, row.slow, inst, long_only, close_at_end=close_at_end,
            sl_pips=stops["stop_loss_pips"], tp_pips=stops["take_profit_pips"], **case, **cfg)
        assert row.n_trades == n_trades > 10
        assert row.final_equity == pytest.approx(final, rel=1e-10, abs=1e-7)
        assert row.max_drawdown == pytest.approx(max_dd, rel=1e-9, abs=1e-12)


def test_cells_equal_run_backtest_exactly():
    bars = random_bars(3_000, seed=23, freq="15min")
    costs = CostModel(commission_rate=2e-5, slippage_spread_frac=0.5)
    pairs = [(1, 9), (5, 40), (12, 30)]
    for kwargs in (dict(vol_target=0.1, vol_lookback=50), dict(fraction=3.0, lot_step=0.01),
                   dict(units=10_000.0, stop_loss_pips=6.0)):
        grid = sma_grid(bars, pairs, EURUSD, costs, cash=25_000.0, **kwargs)
        fast_only = sma_grid(bars, pairs, EURUSD, costs, cash=25_000.0, drawdown=False,
                             **kwargs)
        for row, quick in zip(grid.itertuples(), fast_only.itertuples(), strict=True):
            res = run_backtest(bars, sma_cross_signal(_mid(bars), row.fast, row.slow), EURUSD,
                               costs, cash=25_000.0, **kwargs)
            assert row.final_equity == res.equity.iloc[-1] == quick.final_equity
            assert row.n_trades == len(res.trades) == quick.n_trades
            assert row.max_drawdown == res.metrics["max_drawdown"]
            assert np.isnan(quick.max_drawdown)


@pytest.mark.parametrize("pairs, kwargs, message", [
    ([], {}, "no \\(fast, slow\\) pair"),
    ([(5, 5)], {}, "fast != slow"),
    ([(0, 5)], {}, "1 <= fast"),
    ([(5.0, 10)], {}, "integers"),
    ([(5,)], {}, "tuples"),
    ([(5, 10)], {"stop": 3}, "unknown grid settings"),
    ([(5, 10)], {"units": 1.0, "fraction": 0.5}, "only one"),
    ([(5, 10)], {"stop_loss_pips": -1.0}, "must be > 0"),
])
def test_bad_grid_settings_are_refused(pairs, kwargs, message):
    bars = random_bars(50, seed=24)
    with pytest.raises(BacktestError, match=message):
        sma_grid(bars, pairs, EURUSD, **kwargs)
