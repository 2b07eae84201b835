"""Money in the account currency: hand-computed USDJPY and GBPJPY trades for a USD account."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from marketdata.instruments import get_instrument
from ml.backtest import BacktestError, CostModel, run_backtest, sma_grid
from ml.costs.currency import conversion_pair

USDJPY = get_instrument("USDJPY")
GBPJPY = get_instrument("GBPJPY")
LOT = 100_000.0


def _bars(times: pd.DatetimeIndex, opens: list[float], spread: float) -> pd.DataFrame:
    o = np.asarray(opens)
    return pd.DataFrame({"ts": times, "open": o, "high": o + 0.5, "low": o - 0.5, "close": o,
                         "spread": spread})


TUE = pd.date_range("2025-01-07 10:00", periods=3, freq="1h", tz="UTC")  # no rollover inside


def test_usdjpy_pnl_and_commission_in_usd_at_the_bars_rate():
    bars = _bars(TUE, [150.00, 150.00, 151.00], spread=0.02)
    res = run_backtest(bars, [1, 0, 0], USDJPY, CostModel(commission_per_lot=7.0, apply_swap=False),
                       units=LOT)
    [t] = res.trades.itertuples()
    assert (t.entry_price, t.exit_price) == pytest.approx((150.01, 150.99))
    # 0.98 JPY x 100,000 = 98,000 JPY, converted at the exit bar's USDJPY 151.00
    assert t.gross_pnl == pytest.approx(98_000 / 151.0)
    assert t.commission == pytest.approx(14.0)  # 7 USD a side, not 7 JPY
    assert t.pnl == pytest.approx(98_000 / 151.0 - 14.0)
    assert res.equity.iloc[-1] == pytest.approx(100_000 + 98_000 / 151.0 - 14.0)
    assert res.currency == "USD"
    # the same trade booked in a JPY account is the quote-currency figure
    jpy = run_backtest(bars, [1, 0, 0], USDJPY,
                       CostModel(commission_per_lot=7.0, apply_swap=False, account_currency="JPY"),
                       units=LOT)
    assert jpy.trades["gross_pnl"].iloc[0] == pytest.approx(98_000)


def test_gbpjpy_converts_through_usdjpy_bars():
    bars = _bars(TUE, [190.00, 190.00, 191.00], spread=0.04)
    usdjpy = _bars(TUE, [158.00, 159.00, 160.00], spread=0.02)
    costs = CostModel(commission_per_lot=7.0, apply_swap=False)
    res = run_backtest(bars, [1, 0, 0], GBPJPY, costs, units=LOT, fx_bars=usdjpy)
    [t] = res.trades.itertuples()
    # bought at 190.02, sold at 190.98: 96,000 JPY at USDJPY 160.00 = 600 USD
    assert t.gross_pnl == pytest.approx(600.0)
    assert t.commission == pytest.approx(14.0)
    assert t.pnl == pytest.approx(586.0)
    # mark to market at bar 1's close: (189.98 - 190.02) x 100,000 = -4,000 JPY at 159.00
    assert res.equity.iloc[1] == pytest.approx(100_000 - 7.0 - 4_000 / 159.0)
    grid = sma_grid(bars, [(1, 2)], GBPJPY, costs, units=LOT, fx_bars=usdjpy)
    assert np.isfinite(grid["final_equity"]).all()
    with pytest.raises(BacktestError, match="USDJPY"):
        run_backtest(bars, [1, 0, 0], GBPJPY, costs, units=LOT)


def test_gbpjpy_swap_in_usd():
    times = pd.date_range("2025-01-07 20:00", periods=4, freq="1h", tz="UTC")  # Tue, 22:00 rollover
    bars = _bars(times, [190.0] * 4, spread=0.04)
    usdjpy = _bars(times, [160.0] * 4, spread=0.02)
    res = run_backtest(bars, [1, 1, 0, 0], GBPJPY, CostModel(), units=LOT, fx_bars=usdjpy)
    nightly_jpy = GBPJPY.swap_long * GBPJPY.pip_size * LOT  # -500 JPY a lot a night
    assert res.trades["swap"].iloc[0] == pytest.approx(-nightly_jpy / 160.0)  # 3.125 USD paid


def test_conversion_pairs():
    assert conversion_pair("USD", "USD") is None
    assert conversion_pair("JPY", "USD") == ("USDJPY", True)
    assert conversion_pair("GBP", "USD") == ("GBPUSD", False)
    with pytest.raises(BacktestError):
        conversion_pair("XYZ", "USD")
    with pytest.raises(BacktestError):
        CostModel(account_currency="usd")


def test_pooled_totals_never_add_currencies():
    from ml.evaluation import pooled_metrics

    bars = _bars(TUE, [150.00, 150.00, 151.00], spread=0.02)
    usd = run_backtest(bars, [1, 0, 0], USDJPY, CostModel(apply_swap=False), units=LOT)
    jpy = run_backtest(bars, [1, 0, 0], USDJPY, CostModel(apply_swap=False, account_currency="JPY"),
                       units=LOT)
    assert pooled_metrics({"a": usd, "b": usd})["total_pnl"] == pytest.approx(2 * 98_000 / 151.0)
    with pytest.raises(BacktestError, match="currencies"):
        pooled_metrics({"a": usd, "b": jpy})


class _Store:
    """Stored bars by symbol (features: one column the fake model reads)."""

    def __init__(self, bars: dict[str, pd.DataFrame]):
        self.bars = bars

    def read_bars(self, symbol, start, end):
        return self.bars.get(symbol, pd.DataFrame(columns=["ts"]))

    def read_features(self, symbol, start, end):
        b = self.bars[symbol]
        return pd.DataFrame({"ts": b["ts"], "f": np.arange(len(b), dtype=float)})


class _Model:
    """Long while the feature is even, short while odd."""

    columns, threshold = ["f"], 0.5

    def predict(self, context, rows):
        return pd.DataFrame({"prob_up": np.where(rows["f"].to_numpy() % 2 == 0, 0.9, 0.1)})


def test_the_evaluation_converts_gbpjpy_through_stored_usdjpy_or_leaves_it_out():
    # A stub model with no feature set: the look-ahead check (tested in tests/ml) stays off.
    from ml.evaluation import EvaluationConfig, evaluate_oos

    times = pd.date_range("2025-01-07 10:00", periods=6, freq="1min", tz="UTC")
    gbpjpy = _bars(times, [190.0, 190.1, 190.0, 190.2, 190.1, 190.3], spread=0.04)
    usdjpy = _bars(times, [160.0] * 6, spread=0.02)
    start, end = times[0], times[-1].date()
    _, with_pair = evaluate_oos(_Model(), _Store({"GBPJPY": gbpjpy, "USDJPY": usdjpy}), ["GBPJPY"],
                                start, end, EvaluationConfig(lookahead_check=False))
    jpy = evaluate_oos(_Model(), _Store({"GBPJPY": gbpjpy}), ["GBPJPY"], start, end,
                       EvaluationConfig(account_currency="JPY", lookahead_check=False))[1]["GBPJPY"]
    usd = with_pair["GBPJPY"]
    assert usd.currency == "USD" and len(usd.trades) > 2
    # the same price moves per unit, at 160 JPY a dollar (sizes differ: a fraction of equity)
    np.testing.assert_allclose(usd.trades["gross_pnl"] / usd.trades["size"],
                               jpy.trades["gross_pnl"] / jpy.trades["size"] / 160.0)
    _, without = evaluate_oos(_Model(), _Store({"GBPJPY": gbpjpy}), ["GBPJPY"], start, end,
                              EvaluationConfig(lookahead_check=False))
    assert without == {}  # never booked in JPY as if it were USD
