"""The simulator's trade server: order_check, order_send, and the position and deal books.

Hedging accounts: each opening deal creates a position whose ticket is its order's. Market
orders fill at the current tick; under Instant execution a request price more than
``deviation`` points from it is answered REQUOTE with the new prices, under Market execution
the price is ignored, as a real server does. A symbol's ``liquidity`` (lots at the touch, None
for unlimited) makes an IOC order fill part and answer DONE_PARTIAL, and refuses an FOK order
that cannot fill whole. Each deal carries commission, swap and fee; the closing deal realises
the position's accumulated swap.
"""

from __future__ import annotations

from typing import Any

from realtime.brokers.mt5_constants import (
    DEAL_ENTRY_IN,
    DEAL_ENTRY_OUT,
    ORDER_FILLING_FOK,
    ORDER_TYPE_BUY,
    SYMBOL_TRADE_EXECUTION_INSTANT,
    TRADE_ACTION_PENDING,
    TRADE_ACTION_REMOVE,
    TRADE_RETCODE_DONE,
    TRADE_RETCODE_DONE_PARTIAL,
    TRADE_RETCODE_PLACED,
    TRADE_RETCODE_REJECT,
    TRADE_RETCODE_REQUOTE,
)
from tests.support.mt5sim.checks import is_buy, validate
from tests.support.mt5sim.records import (
    DEAL_REASON_EXPERT,
    AccountInfo,
    OrderCheckResult,
    OrderSendResult,
    Tick,
    TradeDeal,
    TradeOrder,
    TradePosition,
    TradeRequest,
)


class Trading:
    """Order handling and the books; mixed into the terminal simulator."""

    balance: float
    leverage: float
    market_open: bool
    commission_per_lot: float
    fee_per_deal: float
    liquidity: dict[str, float]
    calls: list[str]
    last_request: dict[str, Any] | None
    _symbols: dict[str, Any]
    _ticks: dict[str, list[Tick]]
    _positions: dict[int, TradePosition]
    _orders: dict[int, TradeOrder]
    _deals: list[TradeDeal]

    def _live(self) -> bool: ...
    def account_info(self) -> AccountInfo | None: ...
    def _now_server(self) -> tuple[int, int]: ...
    def _next_ticket(self) -> int: ...

    def _req(self, request: dict[str, Any]) -> TradeRequest:
        base: dict[str, Any] = dict.fromkeys(TradeRequest._fields, 0)
        base.update(comment="", symbol="")
        base.update(request)
        return TradeRequest(**{k: base[k] for k in TradeRequest._fields})

    def _check(self, r: TradeRequest) -> tuple[int, str]:
        ticks = self._ticks.get(r.symbol) or []
        acct = self.account_info()
        free = acct.margin_free if acct is not None else 0.0
        return validate(
            r, self._symbols.get(r.symbol), ticks[-1] if ticks else None, self.market_open,
            self._positions, self._orders, free, self.leverage,
        )  # fmt: skip

    def order_check(self, request: dict[str, Any]) -> OrderCheckResult | None:
        """Validate a request without sending it: retcode 0 means it would be accepted."""
        self.calls.append("order_check")
        self.last_request = dict(request)
        acct = self.account_info()
        if acct is None:
            return None
        r = self._req(request)
        code, text = self._check(r)
        return OrderCheckResult(
            code, acct.balance, acct.equity, 0.0, acct.margin, acct.margin_free, 0.0, text, r
        )

    def order_send(self, request: dict[str, Any]) -> OrderSendResult | None:
        """Execute a request: DONE, DONE_PARTIAL, PLACED, or the refusal's retcode."""
        self.calls.append("order_send")
        self.last_request = dict(request)
        if not self._live():
            return None
        r = self._req(request)
        code, text = self._check(r)
        tick = self._ticks[r.symbol][-1] if self._ticks.get(r.symbol) else None
        bid, ask = (tick.bid, tick.ask) if tick else (0.0, 0.0)

        def answer(
            retcode: int, deal: int, order: int, volume: float, price: float, why: str
        ) -> OrderSendResult:
            return OrderSendResult(retcode, deal, order, volume, price, bid, ask, why, 0, 0, r)

        if code:
            return answer(code, 0, 0, 0.0, 0.0, text)
        if r.action == TRADE_ACTION_REMOVE:
            del self._orders[r.order]
            return answer(TRADE_RETCODE_DONE, 0, r.order, 0.0, 0.0, "Request executed")
        assert tick is not None  # validate answers "No prices" for a symbol without ticks
        ticket = self._next_ticket()
        if r.action == TRADE_ACTION_PENDING:
            t, msc = self._now_server()
            self._orders[ticket] = TradeOrder(
                ticket, t, msc, r.type, r.type_filling, r.magic, r.volume, r.volume,
                r.price, r.sl, r.tp, r.symbol, r.comment,
            )  # fmt: skip
            return answer(TRADE_RETCODE_PLACED, 0, ticket, r.volume, r.price, "Request executed")
        buy = is_buy(r.type)
        price, info = (ask if buy else bid), self._symbols[r.symbol]
        instant = info.trade_exemode == SYMBOL_TRADE_EXECUTION_INSTANT
        if instant and abs(r.price - price) > r.deviation * info.point + 1e-12:
            return answer(TRADE_RETCODE_REQUOTE, 0, 0, 0.0, 0.0, "Requote")
        volume, retcode = r.volume, TRADE_RETCODE_DONE
        room = self.liquidity.get(r.symbol)
        if room is not None and volume - room > 1e-9:
            if r.type_filling == ORDER_FILLING_FOK:
                return answer(TRADE_RETCODE_REJECT, 0, 0, 0.0, 0.0, "Request rejected: no liquidity for FOK")
            volume, retcode = room, TRADE_RETCODE_DONE_PARTIAL  # IOC: the rest is cancelled
        if r.position:
            deal = self._close(r.position, ticket, volume, price, r.magic, r.comment, DEAL_REASON_EXPERT)
        else:
            deal = self._open(
                ticket, buy, r.magic, volume, price, r.sl, r.tp, r.symbol, r.comment, DEAL_REASON_EXPERT
            )
        return answer(retcode, deal, ticket, volume, price, "Request executed")

    def _deal(self, **fields: Any) -> int:
        """Charge commission, fee and swap, append a deal; return its ticket."""
        commission = -self.commission_per_lot * fields["volume"]
        fee = -self.fee_per_deal
        self.balance += commission + fee + fields["profit"] + fields["swap"]
        ticket = self._next_ticket()
        t, msc = self._now_server()
        self._deals.append(
            TradeDeal(ticket=ticket, time=t, time_msc=msc, commission=commission, fee=fee, **fields)
        )
        return ticket

    def _open(
        self, order: int, buy: bool, magic: int, volume: float, price: float, sl: float, tp: float,
        symbol: str, comment: str, reason: int,
    ) -> int:  # fmt: skip
        """A deal opening position ``order`` (hedging: the position's ticket is the order's)."""
        kind = 0 if buy else 1
        t, msc = self._now_server()
        self._positions[order] = TradePosition(
            order, t, msc, kind, magic, order, reason, volume, price, sl, tp, price, 0.0, 0.0, symbol, comment
        )
        return self._deal(
            order=order, type=kind, entry=DEAL_ENTRY_IN, magic=magic, position_id=order, reason=reason,
            volume=volume, price=price, swap=0.0, profit=0.0, symbol=symbol, comment=comment,
        )  # fmt: skip

    def _close(
        self, position: int, order: int, volume: float, price: float, magic: int, comment: str, reason: int
    ) -> int:
        """A deal closing ``volume`` lots of ``position`` at ``price``: it realises that share of
        the position's profit and accumulated swap."""
        pos = self._positions.pop(position)
        size = self._symbols[pos.symbol].trade_contract_size
        profit = (
            ((price - pos.price_open) if pos.type == ORDER_TYPE_BUY else (pos.price_open - price))
            * volume
            * size
        )
        swap = pos.swap * volume / pos.volume
        if pos.volume - volume > 1e-9:
            self._positions[position] = pos._replace(
                volume=round(pos.volume - volume, 8), swap=pos.swap - swap
            )
        return self._deal(
            order=order, type=1 - pos.type, entry=DEAL_ENTRY_OUT, magic=magic, position_id=position,
            reason=reason, volume=volume, price=price, swap=swap, profit=profit, symbol=pos.symbol,
            comment=comment,
        )  # fmt: skip

    def positions_get(
        self, symbol: str | None = None, ticket: int | None = None
    ) -> tuple[TradePosition, ...] | None:
        """Open positions (with their floating profit and swap), optionally filtered."""
        if not self._live():
            return None
        return tuple(
            p._replace(profit=self._profit(p))
            for p in self._positions.values()
            if (symbol is None or p.symbol == symbol) and (ticket is None or p.ticket == ticket)
        )

    def _profit(self, p: TradePosition) -> float:
        tick = self._ticks[p.symbol][-1]
        size = self._symbols[p.symbol].trade_contract_size
        return ((tick.bid - p.price_open) if p.type == 0 else (p.price_open - tick.ask)) * p.volume * size

    def orders_get(
        self, symbol: str | None = None, ticket: int | None = None
    ) -> tuple[TradeOrder, ...] | None:
        """Working pending orders."""
        if not self._live():
            return None
        return tuple(
            o
            for o in self._orders.values()
            if (symbol is None or o.symbol == symbol) and (ticket is None or o.ticket == ticket)
        )
