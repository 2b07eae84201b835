"""``run_backtest``: bars + a target-position signal + costs -> trades, equity curve, metrics."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from marketdata.instruments import Instrument
from ml.backtest import checks, core
from ml.backtest.bars import BidAskBars, load_bars
from ml.backtest.errors import BacktestError, InvalidSignalError
from ml.backtest.metrics import compute_metrics
from ml.backtest.sizing import constant, frozen, sizing_arrays, volatility_fraction
from ml.backtest.step import Charges, Plan, Prices
from ml.costs import CostModel
from ml.costs.currency import bar_rates, conversion_pair, quote_currency
from ml.costs.rollover import swap_multipliers

log = logging.getLogger(__name__)

TRADE_COLUMNS = [
    "entry_time", "exit_time", "entry_bar", "exit_bar", "direction", "size", "lots",
    "entry_price", "exit_price", "exit_reason", "gross_pnl", "spread", "commission",
    "slippage", "swap", "pnl",
]

@dataclass
class BacktestResult:
    """What a backtest produced.

    trades: closed trades, one row each (``TRADE_COLUMNS``); gross_pnl is the price move times
    size (the spread and slippage are already inside the fill prices and are shown only as an
    attribution); pnl = gross_pnl - commission - swap (swap < 0 is a credit).
    equity: mark-to-market equity at each bar's close (longs valued at the bid, shorts at the ask).
    position: signed units held at each bar's close. open_trades: trades still open at the end
    (only when ``close_at_end=False``; exit_price NaN, P&L marked at the last close).
    metrics: see :func:`ml.backtest.metrics.compute_metrics`. currency: the account currency
    every money figure (P&L, costs, equity) is in, each converted at its bar's rate.
    """

    trades: pd.DataFrame
    equity: pd.Series
    metrics: dict[str, float]
    position: pd.Series
    open_trades: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TRADE_COLUMNS))
    currency: str = "USD"


def _signal_array(signal: pd.Series | np.ndarray, index: pd.DatetimeIndex,
                  rows: pd.Index) -> np.ndarray:
    """Check ``signal`` against the bars (times ``index``, frame index ``rows``) and return it
    as int64. A Series must be labelled like the bars: by their times, or by the frame's own
    index (or a plain 0..n-1 range), so a shifted or reordered signal is refused, not realigned."""
    if isinstance(signal, pd.DataFrame):
        raise InvalidSignalError("signal must be one column (a Series or 1-d array), not a frame")
    if isinstance(signal, pd.Series):
        sidx = signal.index
        if isinstance(sidx, pd.DatetimeIndex):
            sidx = sidx.tz_convert("UTC") if sidx.tz else sidx.tz_localize("UTC")
            if not sidx.equals(index):
                raise InvalidSignalError(
                    "signal's DatetimeIndex does not match the bars' times "
                    f"({len(sidx)} signal times, {len(index)} bars)")
        elif not (sidx.equals(rows) or sidx.equals(pd.RangeIndex(len(index)))):
            raise InvalidSignalError("signal's index does not match the bars' index")
    arr = np.asarray(signal)
    if arr.dtype.kind not in "biuf":  # integers and floats are checked as they are, uncopied
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidSignalError(f"signal is not numeric: {exc}") from exc
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise InvalidSignalError(f"signal must be 1-d, got shape {arr.shape}")
    if arr.shape[0] != len(index):
        raise InvalidSignalError(f"signal has {arr.shape[0]} values for {len(index)} bars")
    arr = np.ascontiguousarray(arr)
    if not checks.is_position_signal(arr.view(np.uint8) if arr.dtype == np.bool_ else arr):
        as_float = arr.astype(np.float64)
        bad = as_float[~np.isin(as_float, (-1.0, 0.0, 1.0))][:3]
        raise InvalidSignalError(f"signal values must be -1, 0 or +1 (not NaN); got {bad}")
    return arr.astype(np.int64, copy=False)


_EXIT_NAMES = np.array(core.EXIT_NAMES, dtype=object)


def _trade_frame(rows: np.ndarray, index: pd.DatetimeIndex, contract_size: float) -> pd.DataFrame:
    """Trade records (rows of ``core.simulate``'s array) as a ``TRADE_COLUMNS`` frame. Its
    columns stay the arrays built here (``copy=False``, in ``TRADE_COLUMNS`` order): packing
    them into pandas' blocks cost more than the rest of the table."""
    entry_bar = rows[:, core.T_ENTRY_IDX].astype(np.int64)
    exit_bar = rows[:, core.T_EXIT_IDX].astype(np.int64)
    closed = exit_bar >= 0
    reason = _EXIT_NAMES.take(rows[:, core.T_REASON].astype(np.int64))
    exit_time = index.take(np.maximum(exit_bar, 0))
    if not closed.all():
        exit_time = exit_time.where(closed)  # NaT while open
        reason = np.where(closed, reason, "open")
    if exit_time.tz is None:
        exit_time = exit_time.tz_localize("UTC")
    gross, commission, swap = rows[:, core.T_GROSS], rows[:, core.T_COMMISSION], rows[:, core.T_SWAP]
    columns = {
        "entry_time": index.take(entry_bar),
        "exit_time": exit_time,
        "entry_bar": entry_bar,
        "exit_bar": exit_bar,
        "direction": rows[:, core.T_DIR].astype(np.int64),
        "size": rows[:, core.T_UNITS],
        "lots": rows[:, core.T_UNITS] / contract_size,
        "entry_price": rows[:, core.T_ENTRY_PX],
        "exit_price": rows[:, core.T_EXIT_PX],
        "exit_reason": reason,
        "gross_pnl": gross,
        "spread": rows[:, core.T_SPREAD],
        "commission": commission,
        "slippage": rows[:, core.T_SLIPPAGE],
        "swap": swap,
        "pnl": gross - commission - swap,
    }
    return pd.DataFrame(columns, copy=False)


def price_arrays(b: BidAskBars) -> Prices:
    """The kernel's prices: bid and ask open/high/low/close, then the spread estimate."""
    return Prices(b.bid["open"], b.bid["high"], b.bid["low"], b.bid["close"],
                  b.ask["open"], b.ask["high"], b.ask["low"], b.ask["close"], b.spread_est)


def kernel_settings(
    b: BidAskBars,
    instrument: Instrument,
    costs: CostModel,
    cash: float,
    *,
    units: float | np.ndarray | None = None,
    fraction: float | None = None,
    all_in: float | None = None,
    vol_target: float | None = None,
    vol_lookback: int = 100,
    max_leverage: float = 10.0,
    lot_step: float | None = None,
    stop_loss_pips: float | None = None,
    take_profit_pips: float | None = None,
    close_at_end: bool = True,
    fx_bars: pd.DataFrame | None = None,
) -> tuple[Plan, Charges]:
    """Validate sizing, stops and cash and return the kernel's trading plan and charges.

    Shared by :func:`run_backtest` and the parameter grid, so both charge the same costs.
    """
    if not (cash > 0 and math.isfinite(cash)):
        raise BacktestError(f"cash must be a positive number, got {cash!r}")
    n = len(b)
    vol_frac = None
    if vol_target is not None:
        vol_frac = volatility_fraction(b.mid_close, b.index, vol_target, vol_lookback, max_leverage)
    mode, size_param = sizing_arrays(n, units=units, fraction=fraction, all_in=all_in,
                                     vol_fraction=vol_frac)
    pip = instrument.pip_size
    for name, value in (("stop_loss_pips", stop_loss_pips), ("take_profit_pips", take_profit_pips)):
        if value is not None and not value > 0:
            raise BacktestError(f"{name} must be > 0")
    sl = stop_loss_pips * pip if stop_loss_pips is not None else math.inf
    tp = take_profit_pips * pip if take_profit_pips is not None else math.inf
    swap_mult = frozen(swap_multipliers(b.index.asi8)) if costs.apply_swap else constant(n, 0.0)
    plan = Plan(mode, size_param, (lot_step or 0.0) * instrument.contract_size, sl, tp,
                float(cash), bool(close_at_end))
    pair = None
    if fx_bars is not None:
        fb = load_bars(fx_bars)
        pair = (fb.index, 0.5 * (fb.bid["open"] + fb.ask["open"]))
    if conversion_pair(quote_currency(instrument), costs.account_currency) is None:
        fx = constant(n, 1.0)  # money already in the account currency
    else:
        fx = frozen(bar_rates(instrument, costs.account_currency, b.index,
                              0.5 * (b.bid["open"] + b.ask["open"]), pair))
    return plan, Charges(*costs.terms(instrument), swap_mult, fx)


def run_backtest(
    bars: pd.DataFrame,
    signal: pd.Series | np.ndarray,
    instrument: Instrument,
    costs: CostModel | None = None,
    cash: float = 100_000.0,
    units: float | np.ndarray | None = None,
    *,
    fraction: float | None = None,
    all_in: float | None = None,
    vol_target: float | None = None,
    vol_lookback: int = 100,
    max_leverage: float = 10.0,
    lot_step: float | None = None,
    stop_loss_pips: float | None = None,
    take_profit_pips: float | None = None,
    close_at_end: bool = True,
    fx_bars: pd.DataFrame | None = None,
) -> BacktestResult:
    """Backtest a target-position ``signal`` on bid/ask ``bars``.

    ``signal[t]`` in {-1, 0, +1} is the position wanted from bar t's close; it is filled at bar
    t+1's open (buy at the ask, sell at the bid), so the last bar's signal never trades.
    Sizing (one of): ``units`` per trade; ``fraction`` of equity (the default, 1.0);
    ``all_in`` fraction of equity in whole units net of commission (backtesting.py's default
    sizing); ``vol_target`` annualised volatility. ``lot_step`` rounds sizes down to whole
    multiples of that many lots. Stops are in pips from the entry fill. Positions still open at
    the end are closed at the last close unless ``close_at_end`` is False. Money is in
    ``costs.account_currency``: an instrument quoted in another currency converts through its
    conversion pair, its own bars when it is that pair (USDJPY for USD), else ``fx_bars``, the
    pair's bars (GBPJPY for USD needs USDJPY's).
    """
    costs = costs or CostModel()
    b = load_bars(bars)
    sig = _signal_array(signal, b.index, bars.index)
    settings = kernel_settings(
        b, instrument, costs, cash, units=units, fraction=fraction, all_in=all_in,
        vol_target=vol_target, vol_lookback=vol_lookback, max_leverage=max_leverage,
        lot_step=lot_step, stop_loss_pips=stop_loss_pips, take_profit_pips=take_profit_pips,
        close_at_end=close_at_end, fx_bars=fx_bars)
    equity, position, rows = core.simulate(price_arrays(b), sig, *settings)
    # one position at a time: only the last trade can still be open, so the closed ones are
    # a slice (no copy) and the open one a copy, marked below
    n_closed = len(rows) - int(len(rows) > 0 and rows[-1, core.T_EXIT_IDX] < 0)
    trades = _trade_frame(rows[:n_closed], b.index, instrument.contract_size)
    still_open = rows[n_closed:].copy()
    if len(still_open):  # mark to market at the last close, on the side that would exit
        direction = still_open[:, core.T_DIR].astype(np.int64)
        last = np.where(direction > 0, b.bid["close"][-1], b.ask["close"][-1])
        still_open[:, core.T_GROSS] = (direction * still_open[:, core.T_UNITS]
                                       * (last - still_open[:, core.T_ENTRY_PX])
                                       * settings[1].fx[-1])
    open_trades = _trade_frame(still_open, b.index, instrument.contract_size)
    eq = pd.Series(equity, index=b.index, name="equity")
    pos = pd.Series(position, index=b.index, name="position")
    metrics = compute_metrics(eq, trades, position, float(cash), settings[1].fx)
    log.debug("backtest %s: %d trades, final equity %.2f",
              instrument.symbol, len(trades), equity[-1])
    return BacktestResult(trades=trades, equity=eq, metrics=metrics, position=pos,
                          open_trades=open_trades, currency=costs.account_currency)
