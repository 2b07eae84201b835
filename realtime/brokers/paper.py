"""PaperBroker: fills against the live feed's bid/ask with the cost model of :mod:`ml.costs`, the
backtest's (commission, slippage, and the overnight swap at each rollover a position is held
across)."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace

from marketdata.instruments import Instrument, get_instrument
from ml.costs import CostModel, deal_commission, deal_price, gross_pnl, required_margin
from ml.costs.currency import LiveRates, conversion_pair, quote_currency
from realtime.brokers.base import (
    AccountState,
    BrokerCapabilities,
    BrokerPosition,
    ExecReport,
    OrderIntent,
    Quote,
    Side,
    SwapReport,
)
from realtime.brokers.paper_book import OpenBook
from realtime.brokers.paper_swap import SwapAccrual
from realtime.errors import BrokerError, BrokerUnavailableError


class PaperBroker:
    """A simulated hedging account. Market orders fill at the touch (ask to buy, bid to sell)
    plus the CostModel's slippage; commission per lot and per notional as in the backtest.
    Limit orders rest until a quote crosses them; that quote's ``update_quote`` returns the
    fill, and the close of a position whose sl or tp it crosses (priced like a market order).
    With ``costs.apply_swap``, a quote past a rollover charges each open position of its symbol
    the instrument's swap for every rollover since the position's last quote, as the backtest
    does; each charge comes back from the same call as a :class:`SwapReport`. The broker never
    calls up: whoever feeds it quotes books the deals it gets back.

    Money (balance, commission, P&L, swap, margin) is in ``costs.account_currency``, converted
    from each symbol's quote currency at the latest quote of its conversion pair (USDJPY for
    JPY in a USD account); an order whose money cannot be converted yet is refused.
    """

    name = "paper"
    capabilities = BrokerCapabilities(
        in_process=True, priced_by_feed=True, reports_own_deals=True, restored_from_ledger=True
    )
    market_data = None  # no ticks or bars of its own: the service's feed prices it

    def __init__(
        self,
        costs: CostModel | None = None,
        balance: float = 100_000.0,
        leverage: float = 30.0,
    ):
        self.costs = costs or CostModel()
        self.balance, self.leverage = balance, leverage
        self._quotes: dict[str, Quote] = {}
        self._positions: dict[str, BrokerPosition] = {}
        self._working: dict[str, OrderIntent] = {}
        self._reports: dict[int, ExecReport] = {}
        self._closes: dict[str, list[ExecReport]] = {}  # closing deals by position, for the sync
        self._stops: set[str] = set()  # ids of positions with an sl or tp
        self._rates = LiveRates(self.costs.account_currency)
        self._swaps = SwapAccrual(self.costs.apply_swap, self._rates)
        self._book = OpenBook(self._rates)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def update_quote(self, quote: Quote) -> list[ExecReport | SwapReport]:
        """Take a new quote; charge the swaps of the rollovers it passed, fill the resting limit
        orders it crosses, close the positions whose sl or tp it crosses, and return those deals
        in that order, for the caller to book."""
        with self._lock:
            self._rates.update(quote.symbol, quote.bid, quote.ask)
            # Swap first: positions this quote closes were held across the rollover before it.
            swaps = self._swaps.charge(self._quotes.get(quote.symbol), quote, self._positions)
            self.balance += sum(r.amount for r in swaps)
            self._quotes[quote.symbol] = quote
            crossed = [
                (oid, o)
                for oid, o in self._working.items()
                if o.symbol == quote.symbol and o.price is not None and self._marketable(o, quote)
            ]
            reports: list[ExecReport | SwapReport] = [*swaps]
            for oid, o in crossed:
                del self._working[oid]
                reports.append(self._fill(o, quote, oid, limit=True))
            for pid in list(self._stops):  # only positions with an sl or tp: quotes are hot
                pos = self._positions.get(pid)
                if pos is None:
                    self._stops.discard(pid)
                    continue
                reason = self._stop_hit(pos, quote) if pos.symbol == quote.symbol else None
                if reason is not None:
                    reports.append(self._close_at_broker(pos, quote, reason))
        return reports

    @staticmethod
    def _stop_hit(p: BrokerPosition, q: Quote) -> str | None:
        """Return "sl" or "tp" when ``q`` reaches the position's stop: a long exits at the bid, a short
        at the ask, as the order closing it would."""
        if p.side == "buy":
            if p.sl is not None and q.bid <= p.sl:
                return "sl"
            if p.tp is not None and q.bid >= p.tp:
                return "tp"
        else:
            if p.sl is not None and q.ask >= p.sl:
                return "sl"
            if p.tp is not None and q.ask <= p.tp:
                return "tp"
        return None

    def _close_at_broker(self, pos: BrokerPosition, q: Quote, reason: str) -> ExecReport:
        """Close ``pos`` at the touch for ``reason``, costed as the backtest does: a stop-loss
        becomes a market order and slips; a take-profit is a limit order and gets its price."""
        side: Side = "sell" if pos.side == "buy" else "buy"
        oid = str(next(self._ids))
        price, commission, deal, fx = self._deal(pos.symbol, side, pos.volume, q, limit=reason == "tp")
        self._reduce(pos.broker_position_id, pos.volume, price, fx)
        report = ExecReport(
            "filled", oid, price, pos.volume, commission, deal, pos.broker_position_id, reason=reason, fx=fx
        )
        self._closes.setdefault(pos.broker_position_id, []).append(report)
        return report

    @staticmethod
    def _marketable(o: OrderIntent, q: Quote) -> bool:
        assert o.price is not None
        return q.ask <= o.price if o.side == "buy" else q.bid >= o.price

    def _deal(
        self, symbol: str, side: Side, volume: float, q: Quote, limit: bool
    ) -> tuple[float, float, str, float]:
        """(price, commission, deal id, quote-to-account rate) of a deal at the touch; a limit
        fill has no slippage."""
        inst = get_instrument(symbol)
        terms = self.costs.terms(inst)
        fx = self._fx(inst)
        price = deal_price(terms, side, q.bid, q.ask, limit)
        commission = deal_commission(terms, inst, volume, price, fx)
        self.balance -= commission
        return price, commission, str(next(self._ids)), fx

    def _fx(self, inst: Instrument) -> float:
        """The rate converting ``inst``'s quote currency to the account's, or refuse."""
        fx = self._rates.rate(inst)
        if fx is None:
            pair = conversion_pair(quote_currency(inst), self.costs.account_currency)
            raise BrokerUnavailableError(
                f"no {pair[0] if pair else ''} quote yet to convert {quote_currency(inst)} "
                f"to the account currency {self.costs.account_currency}")
        return fx

    def _reduce(self, pos_id: str, volume: float, price: float, fx: float) -> None:
        """Take ``volume`` lots off position ``pos_id`` at ``price`` and realise the P&L."""
        pos = self._positions.pop(pos_id)
        self._book.add(pos.symbol, pos.side, -min(volume, pos.volume), pos.price_open)
        self.balance += gross_pnl(pos.symbol, pos.side, volume, pos.price_open, price, fx)
        if pos.volume - volume > 1e-9:
            self._positions[pos_id] = replace(pos, volume=pos.volume - volume)
        else:
            self._swaps.closed(pos_id)

    def _open(self, p: BrokerPosition, since: dt.datetime | None) -> None:
        """Add ``p``; its swap is settled up to ``since`` (None: from the next quote on)."""
        self._positions[p.broker_position_id] = p
        self._book.add(p.symbol, p.side, p.volume, p.price_open)
        self._swaps.opened(p.broker_position_id, since)
        if p.sl is not None or p.tp is not None:
            self._stops.add(p.broker_position_id)

    def _fill(self, o: OrderIntent, q: Quote, oid: str, limit: bool) -> ExecReport:
        price, commission, deal, fx = self._deal(o.symbol, o.side, o.volume, q, limit)
        if o.close_position is not None:
            self._reduce(o.close_position, o.volume, price, fx)
            pos_id = o.close_position
        else:
            pos_id = oid
            self._open(BrokerPosition(oid, o.symbol, o.side, o.volume, price, o.ref, sl=o.sl, tp=o.tp), q.ts)
        report = ExecReport("filled", oid, price, o.volume, commission, deal, pos_id, ref=o.ref, fx=fx)
        self._reports[o.ref] = report
        if o.close_position is not None:
            self._closes.setdefault(pos_id, []).append(report)
        return report

    def submit(self, intent: OrderIntent) -> ExecReport:
        """Fill a market order now; fill or rest a limit order."""
        with self._lock:
            q = self._quotes.get(intent.symbol)
            if q is None:
                raise BrokerUnavailableError(f"paper broker has no quote for {intent.symbol} yet")
            if intent.close_position is not None and intent.close_position not in self._positions:
                raise BrokerError(f"position {intent.close_position} is not open at the paper broker")
            held = self._positions.get(intent.close_position or "")
            if held is not None and intent.volume > held.volume + 1e-9:
                # Never close more than is held: that would open the opposite way unrecorded.
                raise BrokerError(
                    f"cannot close {intent.volume} lots of the {held.volume}-lot paper position "
                    f"{intent.close_position}"
                )
            if intent.close_position is None:
                self._check_margin(intent, q)
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

    def restore(
        self,
        positions: list[BrokerPosition],
        working: Sequence[tuple[str, OrderIntent]] = (),
        balance: float | None = None,
        swap_through: Mapping[str, dt.datetime] | None = None,
        ids_after: int = 0,
    ) -> None:
        """Rebuild the account from the ledger after a restart (paper keeps no state of its
        own): open positions, resting limit orders under their broker ids, the balance, and per
        position (by broker id) the time its swap is settled to (absent: from the next quote);
        new ids start above ``ids_after`` (the ledger's largest broker id)."""
        with self._lock:
            if balance is not None:
                self.balance = balance
            for p in positions:
                self._open(p, (swap_through or {}).get(p.broker_position_id))
                self._swaps.restored(p.symbol)
            for oid, intent in working:
                self._working[oid] = intent
            used = [int(i) for i in [*(p.broker_position_id for p in positions), *(o for o, _ in working)]
                    if i.isdigit()]
            # New ids continue after every id the ledger ever booked (deals of closed positions
            # included), not only after the restored ones.
            floor = max([*used, ids_after]) + 1
            self._ids = itertools.count(max(floor, next(self._ids)))

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
            pnl, margin = self._book.marked(self._quotes, self.leverage)
            return AccountState(self.balance, self.balance + pnl, margin)

    def _check_margin(self, intent: OrderIntent, q: Quote) -> None:
        """Refuse an opening order whose margin exceeds the free margin (as a broker would)."""
        pnl, margin = self._book.marked(self._quotes, self.leverage)
        # Resting limit orders reserve their margin: each may fill on the next quote, so a book
        # of them must never add up to more than the account could carry once they do.
        free = self.balance + pnl - margin - sum(self._margin_of(o) for o in self._working.values())
        needed = self._margin_of(intent, q)
        if needed > free:
            raise BrokerError(f"not enough free margin: the order needs {needed:,.2f}, {free:,.2f} is free")

    def _margin_of(self, o: OrderIntent, q: Quote | None = None) -> float:
        """The margin ``o`` takes once filled (at its limit, else at the touch); 0 for a close."""
        if o.close_position is not None:
            return 0.0
        if o.price is not None:
            price = o.price
        else:
            assert q is not None
            price = q.ask if o.side == "buy" else q.bid
        inst = get_instrument(o.symbol)
        return required_margin(inst, o.volume, price, self.leverage, self._fx(inst))

    def ping(self) -> bool:
        """Always reachable."""
        return True

    def fills_for(self, ref: int) -> ExecReport | None:
        """The fill of ledger order ``ref`` in this process, if any."""
        return self._reports.get(ref)

    def working_order(self, ref: int) -> str | None:
        """The id of ledger order ``ref`` if it rests here."""
        with self._lock:
            return next((oid for oid, o in self._working.items() if o.ref == ref), None)

    def position_closes(self, broker_position_id: str) -> list[ExecReport]:
        """The deals that closed (part of) a position in this process, oldest first."""
        with self._lock:
            return list(self._closes.get(broker_position_id, ()))

    def now(self) -> dt.datetime:
        """Wall-clock time (paper has no server clock)."""
        return dt.datetime.now(dt.UTC)
