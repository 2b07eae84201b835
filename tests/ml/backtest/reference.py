"""A plain-Python reference of the engine's rules, written from the documentation, not the kernel.

Slow and obvious on purpose: one loop, dicts for trades, datetime arithmetic for swaps.
"""

from __future__ import annotations

import math
from datetime import timedelta

import pandas as pd


def _rollover_charges(start: pd.Timestamp, end: pd.Timestamp) -> int:
    """Swap charges for rollovers R (17:00 New York, Mon-Fri, Wednesday triple) with start < R <= end."""
    total = 0
    day = start.tz_convert("America/New_York").normalize().tz_localize(None) - timedelta(days=1)
    while day.tz_localize("America/New_York") <= end:
        r = (day + timedelta(hours=17)).tz_localize("America/New_York")
        if start < r <= end and r.weekday() < 5:
            total += 3 if r.weekday() == 2 else 1
        day += timedelta(days=1)
    return total


def reference_backtest(bars: pd.DataFrame, signal, pip: float, contract_size: float,
                       swap_long_pips: float, swap_short_pips: float, *, commission_per_lot=0.0,
                       commission_rate=0.0, slippage_pips=0.0, slippage_spread_frac=0.0,
                       apply_swap=True, cash=100_000.0, units=None, fraction=None, all_in=None,
                       sl_pips=None, tp_pips=None, close_at_end=True):
    """Return (equity list, closed trade dicts). Bars must carry BAR_COLUMNS."""
    rows = bars.to_dict("records")
    n = len(rows)
    times = [pd.Timestamp(r["ts"]) for r in rows]
    step = pd.Series(times).diff().median() if n > 1 else pd.Timedelta(minutes=1)
    trades: list[dict] = []
    equity: list[float] = []
    pos = None  # dict of the open trade
    blocked = 0

    def commission(size, price):
        return size / contract_size * commission_per_lot + size * price * commission_rate

    def close(trade, i, price, reason, spread_half, slip):
        fee = commission(trade["size"], price)
        trade.update(exit_bar=i, exit_price=price, exit_reason=reason)
        trade["gross_pnl"] = trade["dir"] * trade["size"] * (price - trade["entry_price"])
        trade["commission"] += fee
        trade["spread"] += spread_half * trade["size"]
        trade["slippage"] += slip * trade["size"]
        trades.append(trade)
        return trade["gross_pnl"] - fee

    for i, bar in enumerate(rows):
        if i > 0:
            want = int(signal[i - 1])
            if blocked and want == blocked:
                want = 0
            elif blocked:
                blocked = 0
            current = pos["dir"] if pos else 0
            if want != current:
                half = (bar["ask_open"] - bar["bid_open"]) / 2
                slip = slippage_pips * pip + slippage_spread_frac * 2 * half
                if pos:
                    price = bar["bid_open"] - slip if pos["dir"] == 1 else bar["ask_open"] + slip
                    cash += close(pos, i, price, "signal", half, slip)
                    pos = None
                if want:
                    price = bar["ask_open"] + slip if want == 1 else bar["bid_open"] - slip
                    if units is not None:
                        size = units
                    elif all_in is not None:
                        per_unit = price + commission(1.0, price)
                        size = float(math.floor(all_in * cash / per_unit))
                    else:
                        size = (fraction or 1.0) * cash / price
                    if size > 0:
                        fee = commission(size, price)
                        cash -= fee
                        pos = dict(dir=want, size=size, entry_bar=i, entry_price=price,
                                   commission=fee, spread=half * size, slippage=slip * size,
                                   swap=0.0)
                        pos["sl"] = price - want * sl_pips * pip if sl_pips else None
                        pos["tp"] = price + want * tp_pips * pip if tp_pips else None
        if pos and (pos["sl"] is not None or pos["tp"] is not None):
            side = "bid" if pos["dir"] == 1 else "ask"
            o, hi, lo = bar[f"{side}_open"], bar[f"{side}_high"], bar[f"{side}_low"]
            d, sl, tp = pos["dir"], pos["sl"], pos["tp"]
            hit = None
            # a level already passed at the open fills at the open; else the stop wins ties
            if sl is not None and (o - sl) * d <= 0:
                hit = ("stop_loss", o)
            elif tp is not None and (o - tp) * d >= 0:
                hit = ("take_profit", o)
            elif sl is not None and ((lo <= sl) if d == 1 else (hi >= sl)):
                hit = ("stop_loss", sl)
            elif tp is not None and ((hi >= tp) if d == 1 else (lo <= tp)):
                hit = ("take_profit", tp)
            if hit:
                reason, price = hit
                slip = 0.0
                if reason == "stop_loss":
                    slip = slippage_pips * pip + slippage_spread_frac * bar["spread_mean"]
                    price -= d * slip
                cash += close(pos, i, price, reason, bar["spread_mean"] / 2, slip)
                blocked = d
                pos = None
        if pos and apply_swap:
            end = times[i + 1] if i + 1 < n else times[i] + step
            nights = _rollover_charges(times[i], end)
            swap_pips = swap_long_pips if pos["dir"] == 1 else swap_short_pips
            amount = nights * swap_pips * pip * pos["size"]
            cash += amount
            pos["swap"] -= amount
        if pos and close_at_end and i == n - 1:
            half = (bar["ask_close"] - bar["bid_close"]) / 2
            slip = slippage_pips * pip + slippage_spread_frac * 2 * half
            price = bar["bid_close"] - slip if pos["dir"] == 1 else bar["ask_close"] + slip
            cash += close(pos, i, price, "end", half, slip)
            pos = None
        if pos:
            mark = bar["bid_close"] if pos["dir"] == 1 else bar["ask_close"]
            equity.append(cash + pos["dir"] * pos["size"] * (mark - pos["entry_price"]))
        else:
            equity.append(cash)
    for t in trades:
        t["pnl"] = t["gross_pnl"] - t["commission"] - t["swap"]
    return equity, trades
