"""MT5TerminalSimulator: an in-process stand-in for the MetaTrader5 module, for tests and dry runs.

It follows the API's semantics as documented (see api-reference §7): data functions return None
on failure with ``last_error()``; ``order_check`` succeeds with retcode 0 and ``order_send`` with
10009 (DONE) or 10008 (PLACED); filling modes are checked against ``symbol_info().filling_mode``;
market prices outside ``deviation`` points answer REQUOTE; sl/tp on the wrong side answer
INVALID_STOPS. Accounts are hedging: each opening deal creates a position whose ticket is the
order ticket. It is not a matching engine: market orders fill at the current tick. Each pushed
tick triggers as a trade server would: a pending limit order it crosses fills at its price, and a
position whose sl or tp it reaches is closed at the tick's price (deal reason SL/TP, comment
``[sl 1.09000]``, the position's magic).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import namedtuple
from typing import Any

import numpy as np

from realtime.brokers.mt5_constants import *  # noqa: F403 - the module mirrors MetaTrader5's namespace
from realtime.brokers.mt5_constants import (
    DEAL_ENTRY_IN,
    DEAL_ENTRY_OUT,
    ORDER_FILLING_FOK,
    ORDER_FILLING_IOC,
    ORDER_FILLING_RETURN,
    ORDER_TYPE_BUY,
    ORDER_TYPE_BUY_LIMIT,
    ORDER_TYPE_SELL,
    ORDER_TYPE_SELL_LIMIT,
    SYMBOL_FILLING_FOK,
    SYMBOL_FILLING_IOC,
    SYMBOL_TRADE_EXECUTION_MARKET,
    TRADE_ACTION_DEAL,
    TRADE_ACTION_PENDING,
    TRADE_ACTION_REMOVE,
    TRADE_RETCODE_DONE,
    TRADE_RETCODE_INVALID,
    TRADE_RETCODE_INVALID_FILL,
    TRADE_RETCODE_INVALID_ORDER,
    TRADE_RETCODE_INVALID_STOPS,
    TRADE_RETCODE_INVALID_VOLUME,
    TRADE_RETCODE_MARKET_CLOSED,
    TRADE_RETCODE_NO_MONEY,
    TRADE_RETCODE_PLACED,
    TRADE_RETCODE_POSITION_CLOSED,
    TRADE_RETCODE_PRICE_OFF,
    TRADE_RETCODE_REQUOTE,
)

SymbolInfo = namedtuple(
    "SymbolInfo",
    "name visible point digits volume_min volume_max volume_step "
    "trade_stops_level trade_contract_size filling_mode trade_exemode",
)
Tick = namedtuple("Tick", "time bid ask last volume time_msc flags volume_real")
TradeRequest = namedtuple(
    "TradeRequest",
    "action magic order symbol volume price stoplimit sl tp "
    "deviation type type_filling type_time expiration comment position position_by",
)
OrderCheckResult = namedtuple(
    "OrderCheckResult", "retcode balance equity profit margin margin_free margin_level comment request"
)
OrderSendResult = namedtuple(
    "OrderSendResult", "retcode deal order volume price bid ask comment request_id retcode_external request"
)
TradePosition = namedtuple(
    "TradePosition",
    "ticket time type magic identifier volume price_open sl tp price_current profit symbol comment",
)
TradeOrder = namedtuple(
    "TradeOrder", "ticket time_setup type magic volume_current price_open sl tp symbol comment"
)
TradeDeal = namedtuple(
    "TradeDeal",
    "ticket order time type entry magic position_id reason volume price commission profit symbol comment",
)
# ENUM_DEAL_REASON values the simulator produces (MQL5 docs; 5.0.6231 exports no DEAL_REASON_*)
DEAL_REASON_CLIENT, DEAL_REASON_EXPERT, DEAL_REASON_SL, DEAL_REASON_TP = 0, 3, 4, 5
AccountInfo = namedtuple("AccountInfo", "login balance equity margin margin_free leverage currency")
_TICK_DTYPE = [
    ("time", "i8"),
    ("bid", "f8"),
    ("ask", "f8"),
    ("last", "f8"),
    ("volume", "u8"),
    ("time_msc", "i8"),
    ("flags", "u4"),
    ("volume_real", "f8"),
]


class MT5TerminalSimulator:
    """A module-like MetaTrader5 terminal: pass it wherever MT5Broker expects ``MetaTrader5``."""

    def __init__(self, balance: float = 100_000.0, leverage: int = 30, commission_per_lot: float = 3.5):
        self.connected, self.market_open = False, True
        self.balance, self.leverage, self.commission_per_lot = balance, leverage, commission_per_lot
        self._error: tuple[int, str] = (1, "Success")
        self._symbols: dict[str, SymbolInfo] = {}
        self._ticks: dict[str, list[Tick]] = {}
        self._positions: dict[int, TradePosition] = {}
        self._orders: dict[int, TradeOrder] = {}
        self._deals: list[TradeDeal] = []
        self._tickets = itertools.count(1000)
        self.calls: list[str] = []
        self.last_request: dict[str, Any] | None = None  # the latest order_check/order_send request

    # simulation controls -------------------------------------------------------------------
    def add_symbol(
        self,
        name: str,
        point: float = 1e-5,
        digits: int = 5,
        contract_size: float = 100_000,
        filling_mode: int = SYMBOL_FILLING_FOK | SYMBOL_FILLING_IOC,
        stops_level: int = 0,
        exemode: int = SYMBOL_TRADE_EXECUTION_MARKET,
    ) -> None:
        """Make ``name`` tradable (not yet visible in MarketWatch)."""
        self._symbols[name] = SymbolInfo(
            name, False, point, digits, 0.01, 100.0, 0.01, stops_level, contract_size, filling_mode, exemode
        )
        self._ticks.setdefault(name, [])

    def push_tick(self, symbol: str, bid: float, ask: float, time_msc: int) -> None:
        """Append a quote to the symbol's tick history (the terminal's live feed), then trigger the
        pending orders it crosses and the stops it reaches, as the trade server does."""
        tick = Tick(time_msc // 1000, bid, ask, 0.0, 0, time_msc, 6, 0.0)
        self._ticks[symbol].append(tick)
        for o in [o for o in self._orders.values() if o.symbol == symbol]:
            buy = o.type == ORDER_TYPE_BUY_LIMIT
            if ask <= o.price_open if buy else bid >= o.price_open:
                del self._orders[o.ticket]
                self._open(
                    o.ticket,
                    tick,
                    buy,
                    o.magic,
                    o.volume_current,
                    o.price_open,
                    o.sl,
                    o.tp,
                    o.symbol,
                    o.comment,
                    DEAL_REASON_EXPERT,
                )
        for p in [p for p in self._positions.values() if p.symbol == symbol]:
            price, sign = (bid, 1.0) if p.type == 0 else (ask, -1.0)  # a long exits at the bid
            if p.sl and sign * (price - p.sl) <= 0:
                reason, comment = DEAL_REASON_SL, f"[sl {p.sl:.5f}]"
            elif p.tp and sign * (price - p.tp) >= 0:
                reason, comment = DEAL_REASON_TP, f"[tp {p.tp:.5f}]"
            else:
                continue
            self._close(p.ticket, next(self._tickets), tick, p.volume, price, p.magic, comment, reason)

    def _fail(self, code: int, text: str) -> None:
        self._error = (code, text)

    # session ----------------------------------------------------------------------------------
    def initialize(self, *args: Any, **kwargs: Any) -> bool:
        """Connect to the (simulated) terminal."""
        self.connected = True
        return True

    def shutdown(self) -> None:
        """Disconnect."""
        self.connected = False

    def last_error(self) -> tuple[int, str]:
        """(code, description) of the last failure."""
        return self._error

    def _live(self) -> bool:
        if not self.connected:
            self._fail(-10004, "No IPC connection")
        return self.connected

    def account_info(self) -> AccountInfo | None:
        """Balance, equity (with floating profit) and margin."""
        if not self._live():
            return None
        profit = sum(self._profit(p) for p in self._positions.values())
        margin = sum(
            p.volume * self._symbols[p.symbol].trade_contract_size * p.price_open / self.leverage
            for p in self._positions.values()
        )
        eq = self.balance + profit
        return AccountInfo(1, self.balance, eq, margin, eq - margin, self.leverage, "USD")

    # market data -------------------------------------------------------------------------------
    def symbol_info(self, symbol: str) -> SymbolInfo | None:
        """Symbol properties, or None for an unknown symbol."""
        if not self._live():
            return None
        if symbol not in self._symbols:
            self._fail(-4, f"Terminal: Not found {symbol}")
            return None
        return self._symbols[symbol]

    def symbol_select(self, symbol: str, enable: bool = True) -> bool:
        """Show ``symbol`` in MarketWatch."""
        if self.symbol_info(symbol) is None:
            return False
        self._symbols[symbol] = self._symbols[symbol]._replace(visible=enable)
        return True

    def symbol_info_tick(self, symbol: str) -> Tick | None:
        """The newest tick, or None."""
        info = self.symbol_info(symbol)
        if info is None or not self._ticks[symbol]:
            return None
        return self._ticks[symbol][-1]

    def copy_ticks_from(
        self, symbol: str, date_from: dt.datetime | int, count: int, flags: int
    ) -> np.ndarray | None:
        """Up to ``count`` ticks at or after ``date_from`` as a structured array."""
        if self.symbol_info(symbol) is None:
            return None
        start = date_from.timestamp() if isinstance(date_from, dt.datetime) else float(date_from)
        rows = [tuple(t) for t in self._ticks[symbol] if t.time_msc >= start * 1000][:count]
        return np.array(rows, dtype=_TICK_DTYPE)

    # trading -------------------------------------------------------------------------------------
    def _profit(self, p: TradePosition) -> float:
        tick = self._ticks[p.symbol][-1]
        size = self._symbols[p.symbol].trade_contract_size
        return ((tick.bid - p.price_open) if p.type == 0 else (p.price_open - tick.ask)) * p.volume * size

    def _req(self, request: dict[str, Any]) -> TradeRequest:
        base: dict[str, Any] = dict.fromkeys(TradeRequest._fields, 0)
        base.update(comment="", symbol="")
        base.update(request)
        return TradeRequest(**{k: base[k] for k in TradeRequest._fields})

    def _validate(self, r: TradeRequest) -> tuple[int, str]:
        """(0, "Done") or the retcode the server would answer."""
        if r.action == TRADE_ACTION_REMOVE:
            return (0, "Done") if r.order in self._orders else (TRADE_RETCODE_INVALID_ORDER, "Invalid order")
        info = self._symbols.get(r.symbol)
        if info is None or not info.visible:
            return TRADE_RETCODE_INVALID, "Invalid request: symbol not selected"
        ticks = self._ticks[r.symbol]
        if not ticks:
            return TRADE_RETCODE_PRICE_OFF, "No prices"
        if not self.market_open:
            return TRADE_RETCODE_MARKET_CLOSED, "Market closed"
        steps = r.volume / info.volume_step
        if not info.volume_min <= r.volume <= info.volume_max or abs(steps - round(steps)) > 1e-6:
            return TRADE_RETCODE_INVALID_VOLUME, "Invalid volume"
        if r.type not in (ORDER_TYPE_BUY, ORDER_TYPE_SELL, ORDER_TYPE_BUY_LIMIT, ORDER_TYPE_SELL_LIMIT):
            return TRADE_RETCODE_INVALID_ORDER, "Unsupported order type"
        allowed = {
            ORDER_FILLING_FOK: info.filling_mode & SYMBOL_FILLING_FOK,
            ORDER_FILLING_IOC: info.filling_mode & SYMBOL_FILLING_IOC,
            ORDER_FILLING_RETURN: info.trade_exemode != SYMBOL_TRADE_EXECUTION_MARKET,
        }
        if r.action == TRADE_ACTION_DEAL and not allowed.get(r.type_filling):
            return TRADE_RETCODE_INVALID_FILL, "Unsupported filling mode"
        if r.position and r.position not in self._positions:
            return TRADE_RETCODE_POSITION_CLOSED, "Position doesn't exist"
        buy = r.type in (ORDER_TYPE_BUY, ORDER_TYPE_BUY_LIMIT)
        price = r.price if r.action == TRADE_ACTION_PENDING else (ticks[-1].ask if buy else ticks[-1].bid)
        gap = info.trade_stops_level * info.point
        if not r.position and (
            (r.sl and (r.sl >= price - gap if buy else r.sl <= price + gap))
            or (r.tp and (r.tp <= price + gap if buy else r.tp >= price - gap))
        ):
            return TRADE_RETCODE_INVALID_STOPS, "Invalid stops"
        margin = r.volume * info.trade_contract_size * price / self.leverage
        if not r.position and margin > (self.account_info() or AccountInfo(0, 0, 0, 0, 0, 0, "")).margin_free:
            return TRADE_RETCODE_NO_MONEY, "No money"
        return 0, "Done"

    def order_check(self, request: dict[str, Any]) -> OrderCheckResult | None:
        """Validate a request without sending it: retcode 0 means it would be accepted."""
        self.calls.append("order_check")
        self.last_request = dict(request)
        acct = self.account_info()
        if acct is None:
            return None
        r = self._req(request)
        code, text = self._validate(r)
        return OrderCheckResult(
            code, acct.balance, acct.equity, 0.0, acct.margin, acct.margin_free, 0.0, text, r
        )

    def order_send(self, request: dict[str, Any]) -> OrderSendResult | None:
        """Execute a request: DONE (10009) for deals, PLACED (10008) for pending orders."""
        self.calls.append("order_send")
        self.last_request = dict(request)
        if not self._live():
            return None
        r = self._req(request)
        code, text = self._validate(r)
        tick = self._ticks[r.symbol][-1] if self._ticks.get(r.symbol) else None
        bid, ask = (tick.bid, tick.ask) if tick else (0.0, 0.0)
        if code:
            return OrderSendResult(code, 0, 0, 0.0, 0.0, bid, ask, text, 0, 0, r)
        ticket = next(self._tickets)
        if r.action == TRADE_ACTION_REMOVE:
            del self._orders[r.order]
            return OrderSendResult(
                TRADE_RETCODE_DONE, 0, r.order, 0.0, 0.0, bid, ask, "Request executed", 0, 0, r
            )
        if tick is None:  # _validate answers "No prices" for a symbol without ticks
            raise RuntimeError(f"order_send: no tick for {r.symbol!r} after validation passed")
        if r.action == TRADE_ACTION_PENDING:
            self._orders[ticket] = TradeOrder(
                ticket, tick.time, r.type, r.magic, r.volume, r.price, r.sl, r.tp, r.symbol, r.comment
            )
            return OrderSendResult(
                TRADE_RETCODE_PLACED, 0, ticket, r.volume, r.price, bid, ask, "Request executed", 0, 0, r
            )
        buy = r.type == ORDER_TYPE_BUY
        price = ask if buy else bid
        info = self._symbols[r.symbol]
        if abs(r.price - price) > r.deviation * info.point:
            return OrderSendResult(TRADE_RETCODE_REQUOTE, 0, 0, 0.0, 0.0, bid, ask, "Requote", 0, 0, r)
        why = DEAL_REASON_EXPERT
        if r.position:
            deal = self._close(r.position, ticket, tick, r.volume, price, r.magic, r.comment, why)
        else:
            args = (r.magic, r.volume, price, r.sl, r.tp, r.symbol, r.comment, why)
            deal = self._open(ticket, tick, buy, *args)
        return OrderSendResult(
            TRADE_RETCODE_DONE, deal, ticket, r.volume, price, bid, ask, "Request executed", 0, 0, r
        )

    def _deal(self, **fields: Any) -> int:
        """Charge the commission and append a deal; return its ticket."""
        commission = -self.commission_per_lot * fields["volume"]
        self.balance += commission
        ticket = next(self._tickets)
        self._deals.append(TradeDeal(ticket=ticket, commission=commission, **fields))
        return ticket

    def _open(
        self,
        order: int,
        tick: Tick,
        buy: bool,
        magic: int,
        volume: float,
        price: float,
        sl: float,
        tp: float,
        symbol: str,
        comment: str,
        reason: int,
    ) -> int:
        """A deal opening position ``order`` (hedging: the position's ticket is the order's)."""
        kind = 0 if buy else 1
        self._positions[order] = TradePosition(
            order, tick.time, kind, magic, order, volume, price, sl, tp, price, 0.0, symbol, comment
        )
        return self._deal(
            order=order,
            time=tick.time,
            type=kind,
            entry=DEAL_ENTRY_IN,
            magic=magic,
            position_id=order,
            reason=reason,
            volume=volume,
            price=price,
            profit=0.0,
            symbol=symbol,
            comment=comment,
        )

    def _close(
        self,
        position: int,
        order: int,
        tick: Tick,
        volume: float,
        price: float,
        magic: int,
        comment: str,
        reason: int,
    ) -> int:
        """A deal closing ``volume`` lots of ``position`` at ``price``, realising its profit."""
        pos = self._positions.pop(position)
        size = self._symbols[pos.symbol].trade_contract_size
        profit = ((price - pos.price_open) if pos.type == 0 else (pos.price_open - price)) * volume * size
        self.balance += profit
        if pos.volume - volume > 1e-9:
            self._positions[position] = pos._replace(volume=round(pos.volume - volume, 8))
        return self._deal(
            order=order,
            time=tick.time,
            type=1 - pos.type,  # DEAL_TYPE_SELL closes a buy
            entry=DEAL_ENTRY_OUT,
            magic=magic,
            position_id=position,
            reason=reason,
            volume=volume,
            price=price,
            profit=profit,
            symbol=pos.symbol,
            comment=comment,
        )

    def positions_get(
        self, symbol: str | None = None, ticket: int | None = None
    ) -> tuple[TradePosition, ...] | None:
        """Open positions, optionally filtered."""
        if not self._live():
            return None
        return tuple(
            p
            for p in self._positions.values()
            if (symbol is None or p.symbol == symbol) and (ticket is None or p.ticket == ticket)
        )

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

    def history_deals_get(
        self,
        date_from: Any = None,
        date_to: Any = None,
        *,
        ticket: int | None = None,
        position: int | None = None,
    ) -> tuple[TradeDeal, ...] | None:
        """Deals, by order ticket, by position, or all (the simulator keeps the whole history)."""
        if not self._live():
            return None
        return tuple(
            d
            for d in self._deals
            if (ticket is None or d.order == ticket) and (position is None or d.position_id == position)
        )
