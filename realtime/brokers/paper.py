"""PaperBroker: fills against the live feed's bid/ask with the backtest's CostModel."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Callable

from marketdata.instruments import get_instrument
from ml.backtest.costs import CostModel
from realtime.brokers.base import AccountState, BrokerPosition, ExecReport, OrderIntent, Quote
from realtime.errors import BrokerError, BrokerUnavailableError
from realtime.ledger.trades import gross_pnl


class PaperBroker:
    """A simulated hedging account. Market orders fill at the touch (ask to buy, bid to sell)
    plus the CostModel's slippage; commission per lot and per notional as in the backtest.
    Limit orders rest until a quote crosses them, then ``on_fill`` receives the report.
    """

    name = "paper"

    def __init__(
        self,
        costs: CostModel | None = None,
        balance: float = 100_000.0,
        leverage: float = 30.0,
        on_fill: Callable[[ExecReport], None] | None = None,
    ):
        self.costs = costs or CostModel()
        self.balance, self.leverage, self.on_fill = balance, leverage, on_fill
        self._quotes: dict[str, Quote] = {}
        self._positions: dict[str, BrokerPosition] = {}
        self._working: dict[str, OrderIntent] = {}
        self._reports: dict[int, ExecReport] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def update_quote(self, quote: Quote) -> list[ExecReport]:
        """Take a new quote; fill resting limit orders it crosses and return their reports."""
        with self._lock:
            self._quotes[quote.symbol] = quote
            crossed = [
                (oid, o)
                for oid, o in self._working.items()
                if o.symbol == quote.symbol and o.price is not None and self._marketable(o, quote)
            ]
            reports = []
            for oid, o in crossed:
                del self._working[oid]
                reports.append(self._fill(o, quote, oid, limit=True))
        for r in reports:
            if self.on_fill is not None:
                self.on_fill(r)
        return reports

    @staticmethod
    def _marketable(o: OrderIntent, q: Quote) -> bool:
        assert o.price is not None
        return q.ask <= o.price if o.side == "buy" else q.bid >= o.price

    def _fill(self, o: OrderIntent, q: Quote, oid: str, limit: bool) -> ExecReport:
        inst = get_instrument(o.symbol)
        touch = q.ask if o.side == "buy" else q.bid
        slip = (
            0.0
            if limit
            else (
                self.costs.slippage_pips * inst.pip_size + self.costs.slippage_spread_frac * (q.ask - q.bid)
            )
        )
        price = touch + slip if o.side == "buy" else touch - slip
        commission = (
            self.costs.commission_per_lot * o.volume
            + self.costs.commission_rate * o.volume * inst.contract_size * price
        )
        self.balance -= commission
        deal = str(next(self._ids))
        if o.close_position is not None:
            pos = self._positions.pop(o.close_position)
            self.balance += gross_pnl(o.symbol, pos.side, o.volume, pos.price_open, price)
            if pos.volume - o.volume > 1e-9:
                self._positions[pos.broker_position_id] = BrokerPosition(
                    pos.broker_position_id,
                    pos.symbol,
                    pos.side,
                    pos.volume - o.volume,
                    pos.price_open,
                    pos.ref,
                )
            pos_id = o.close_position
        else:
            pos_id = oid
            self._positions[oid] = BrokerPosition(oid, o.symbol, o.side, o.volume, price, o.ref)
        report = ExecReport("filled", oid, price, o.volume, commission, deal, pos_id, ref=o.ref)
        self._reports[o.ref] = report
        return report

    def submit(self, intent: OrderIntent) -> ExecReport:
        """Fill a market order now; fill or rest a limit order."""
        with self._lock:
            q = self._quotes.get(intent.symbol)
            if q is None:
                raise BrokerUnavailableError(f"paper broker has no quote for {intent.symbol} yet")
            if intent.close_position is not None and intent.close_position not in self._positions:
                raise BrokerError(f"position {intent.close_position} is not open at the paper broker")
            oid = str(next(self._ids))
            if intent.type == "limit" and not self._marketable(intent, q):
                self._working[oid] = intent
                return ExecReport("placed", oid, intent.price, 0.0, ref=intent.ref)
            return self._fill(intent, q, oid, limit=intent.type == "limit")

    def cancel(self, broker_order_id: str) -> None:
        """Remove a resting limit order."""
        with self._lock:
            if self._working.pop(broker_order_id, None) is None:
                raise BrokerError(f"no working paper order {broker_order_id}")

    def restore(self, positions: list[BrokerPosition]) -> None:
        """Re-open the ledger's positions after a restart (paper keeps no state of its own)."""
        with self._lock:
            for p in positions:
                self._positions[p.broker_position_id] = p
                self._ids = itertools.count(max(int(p.broker_position_id) + 1, next(self._ids)))

    def positions(self) -> list[BrokerPosition]:
        """Open paper positions."""
        with self._lock:
            return list(self._positions.values())

    def open_orders(self) -> list[str]:
        """Ids of resting limit orders."""
        with self._lock:
            return list(self._working)

    def quote(self, symbol: str) -> Quote | None:
        """The latest quote for ``symbol``."""
        return self._quotes.get(symbol)

    def account(self) -> AccountState:
        """Balance, equity marked at the touch, and margin at the configured leverage."""
        with self._lock:
            equity, margin = self.balance, 0.0
            for p in self._positions.values():
                q = self._quotes.get(p.symbol)
                mark = p.price_open if q is None else (q.bid if p.side == "buy" else q.ask)
                equity += gross_pnl(p.symbol, p.side, p.volume, p.price_open, mark)
                margin += p.volume * get_instrument(p.symbol).contract_size * mark / self.leverage
        return AccountState(self.balance, equity, margin)

    def ping(self) -> bool:
        """Always reachable."""
        return True

    def fills_for(self, ref: int) -> ExecReport | None:
        """The fill of ledger order ``ref`` in this process, if any."""
        return self._reports.get(ref)

    def now(self) -> dt.datetime:
        """Wall-clock time (paper has no server clock)."""
        return dt.datetime.now(dt.UTC)
