"""The numba engine equals the plain-Python reference loop on random bars, signals and settings."""

from __future__ import annotations

import numpy as np
import pytest

from marketdata.instruments import get_instrument
from ml.backtest import CostModel, run_backtest
from tests.ml.backtest.helpers import random_bars, random_signal
from tests.ml.backtest.reference import reference_backtest

CASES = [
    dict(units=10_000.0),
    dict(units=25_000.0, commission_per_lot=3.5, slippage_pips=0.3),
    dict(fraction=2.0, commission_rate=2e-5, slippage_spread_frac=0.5),
    dict(all_in=0.9999, commission_rate=2e-4),
    dict(units=50_000.0, sl_pips=8.0, commission_per_lot=2.0, slippage_pips=0.2),
    dict(units=50_000.0, tp_pips=6.0, slippage_spread_frac=0.3),
    dict(fraction=1.0, sl_pips=5.0, tp_pips=5.0, commission_per_lot=7.0, close_at_end=False),
    dict(units=100_000.0, sl_pips=3.0, tp_pips=12.0, apply_swap=False, slippage_pips=0.5),
]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("case", range(len(CASES)))
def test_engine_matches_reference_loop(seed, case):
    cfg = dict(CASES[case])
    wants = {k for k in ("sl_pips", "tp_pips") if k in cfg}
    wants_swap = cfg.get("apply_swap", True)
    inst = get_instrument(["EURUSD", "USDJPY", "XAUUSD"][seed % 3])
    pip = inst.pip_size
    freq = ["1h", "15min", "4h"][seed % 3]
    n = 300 + 37 * seed
    scale = {"EURUSD": 1.0, "USDJPY": 100.0, "XAUUSD": 2000.0}[inst.symbol]
    bars = random_bars(n, seed=100 * case + seed, freq=freq, pip=pip / scale)
    cols = [c for c in bars.columns if c.startswith(("bid_", "ask_"))] + ["spread_mean"]
    bars[cols] *= scale  # ~1.1 EURUSD, ~110 USDJPY, ~2200 XAUUSD; spreads stay ~1 pip
    sig = random_signal(n, seed=seed, hold=4 + seed)

    eq_ref, trades_ref = reference_backtest(
        bars, sig, pip, inst.contract_size, inst.swap_long, inst.swap_short, **cfg
    )
    costs = CostModel(
        commission_per_lot=cfg.pop("commission_per_lot", 0.0),
        commission_rate=cfg.pop("commission_rate", 0.0),
        slippage_pips=cfg.pop("slippage_pips", 0.0),
        slippage_spread_frac=cfg.pop("slippage_spread_frac", 0.0),
        apply_swap=cfg.pop("apply_swap", True),
        account_currency=inst.symbol[-3:],  # the reference loop books in the quote currency
    )
    res = run_backtest(bars, sig, inst, costs, cash=100_000.0,
                       stop_loss_pips=cfg.pop("sl_pips", None),
                       take_profit_pips=cfg.pop("tp_pips", None), **cfg)

    np.testing.assert_allclose(res.equity.to_numpy(), eq_ref, rtol=1e-10, atol=1e-7)
    assert len(res.trades) == len(trades_ref) > 3
    t = res.trades
    for col, key in [("entry_bar", "entry_bar"), ("exit_bar", "exit_bar"), ("direction", "dir"),
                     ("exit_reason", "exit_reason")]:
        assert list(t[col]) == [r[key] for r in trades_ref], col
    for col in ("size", "entry_price", "exit_price", "gross_pnl", "commission", "spread",
                "slippage", "swap", "pnl"):
        np.testing.assert_allclose(t[col].to_numpy(), [r[col] for r in trades_ref],
                                   rtol=1e-10, atol=1e-7, err_msg=col)
    # the random case really exercised what it configures
    reasons = set(t["exit_reason"])
    assert not wants or reasons & {"stop_loss", "take_profit"}
    if not wants_swap:
        assert (t["swap"] == 0).all()
    elif not wants:  # positions without stops live long enough to cross a rollover
        assert t["swap"].abs().sum() > 0
