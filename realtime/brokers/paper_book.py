"""The paper account's open book as running sums per symbol and side, so that equity and margin
cost O(symbols) rather than a pass over every open position (the kill-switch watch and the
margin check read them on quotes and orders)."""

from __future__ import annotations

from collections import defaultdict

from marketdata.instruments import get_instrument
from ml.costs import direction, required_margin
from ml.costs.currency import LiveRates
from ml.costs.formulas import price_pnl
from realtime.brokers.base import Quote


class OpenBook:
    """Per (symbol, side): open lots and lots x open price. Not thread-safe: the paper broker
    updates and reads it under its own lock."""

    def __init__(self, rates: LiveRates | None = None) -> None:
        self._rates = rates or LiveRates()
        self._lots: dict[tuple[str, str], float] = defaultdict(float)
        self._cost: dict[tuple[str, str], float] = defaultdict(float)

    def add(self, symbol: str, side: str, lots: float, open_price: float) -> None:
        """Open (``lots`` > 0) or close (``lots`` < 0) lots of a position opened at ``open_price``."""
        key = (symbol, side)
        self._lots[key] += lots
        self._cost[key] += lots * open_price
        if abs(self._lots[key]) < 1e-9:  # flat: drop the float residue
            del self._lots[key], self._cost[key]

    def marked(self, quotes: dict[str, Quote], leverage: float) -> tuple[float, float]:
        """(unrealised P&L, margin) in the account currency, with buys marked at the bid and
        sells at the ask (each at its open price while its symbol has no quote); margin at the
        mark over ``leverage``. A symbol whose quote currency has no rate yet (only right after
        a restart, before its conversion pair quotes) counts at a rate of 1.0."""
        pnl = used = 0.0
        for (symbol, side), lots in self._lots.items():
            inst, cost, q = get_instrument(symbol), self._cost[symbol, side], quotes.get(symbol)
            fx = self._rates.rate(inst) or 1.0
            if q is None:  # every position at its own open price: no P&L, margin at cost
                used += required_margin(inst, 1.0, cost, leverage, fx)
                continue
            mark = q.bid if side == "buy" else q.ask
            pnl += price_pnl(direction(side), lots * inst.contract_size, cost / lots, mark, fx)
            used += required_margin(inst, lots, mark, leverage, fx)
        return pnl, used
