"""MT5TerminalSimulator: an in-process stand-in for the MetaTrader5 module, for tests and dry runs.

It follows the API as documented: data functions return None on failure with ``last_error()``;
``order_check`` succeeds with retcode 0 and ``order_send`` with DONE, DONE_PARTIAL or PLACED
(see :mod:`tests.support.mt5sim.trading` and :mod:`tests.support.mt5sim.checks`). Each pushed
tick triggers what a trade server would: a pending limit order it crosses fills at its price,
and a position whose sl or tp it reaches is closed at the tick's price (deal reason SL/TP,
comment ``[sl 1.09000]``). Times are the server's (``server_tz``, see
:mod:`tests.support.mt5sim.market`); deals and orders are stamped with ``clock()``, the server's
wall clock (UTC epoch seconds), so that a test can move it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Callable
from typing import Any

from realtime.brokers.mt5_constants import (
    ORDER_TYPE_BUY_LIMIT,
    SYMBOL_FILLING_FOK,
    SYMBOL_FILLING_IOC,
    SYMBOL_TRADE_EXECUTION_MARKET,
)
from tests.support.mt5sim.market import MarketData, as_server_s, server_offset_s
from tests.support.mt5sim.records import (
    DEAL_REASON_EXPERT,
    DEAL_REASON_SL,
    DEAL_REASON_TP,
    SATURDAY,
    SUNDAY,
    WEDNESDAY,
    AccountInfo,
    SymbolInfo,
    TerminalInfo,
    Tick,
    TradeDeal,
    TradeOrder,
    TradePosition,
)
from tests.support.mt5sim.trading import Trading


def _nights(weekday: int, triple_day: int) -> int:
    """Nights a server's rollover at the end of ``weekday`` (Sunday 0) charges."""
    if weekday in (SATURDAY, SUNDAY):
        return 0
    return 3 if weekday == triple_day else 1


class MT5TerminalSimulator(MarketData, Trading):
    """A module-like MetaTrader5 terminal: pass it wherever MT5Broker expects ``MetaTrader5``."""

    def __init__(
        self,
        balance: float = 100_000.0,
        leverage: int = 30,
        commission_per_lot: float = 3.5,
        fee_per_deal: float = 0.0,
        server_tz: str | None = None,
        clock: Callable[[], float] = time.time,
        currency: str = "USD",
    ):
        self.connected, self.market_open = False, True
        self.balance, self.leverage = balance, leverage
        self.commission_per_lot, self.fee_per_deal = commission_per_lot, fee_per_deal
        self.server_tz, self.clock, self.currency = server_tz, clock, currency  # deposit currency
        self.liquidity: dict[str, float] = {}
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
        swap_long: float = 0.0,
        swap_short: float = 0.0,
        swap_rollover3days: int = WEDNESDAY,
    ) -> None:
        """Make ``name`` tradable (not yet visible in MarketWatch); swaps are in the deposit
        currency per lot and night (SYMBOL_SWAP_MODE_CURRENCY_DEPOSIT), charged three times at
        the rollover of ``swap_rollover3days`` (ENUM_DAY_OF_WEEK, Sunday 0) for the weekend."""
        self._symbols[name] = SymbolInfo(
            name, False, point, digits, 0.01, 100.0, 0.01, stops_level, contract_size, filling_mode,
            exemode, swap_long, swap_short, swap_rollover3days, "USD",
        )  # fmt: skip
        self._ticks.setdefault(name, [])

    def push_tick(self, symbol: str, bid: float, ask: float, time_msc: int) -> None:
        """Append a quote (``time_msc`` in UTC) to the symbol's history, then trigger the pending
        orders it crosses and the stops it reaches, as the trade server does."""
        tick = Tick(time_msc // 1000, bid, ask, 0.0, 0, time_msc, 6, 0.0)
        self._ticks[symbol].append(tick)
        for o in [o for o in self._orders.values() if o.symbol == symbol]:
            buy = o.type == ORDER_TYPE_BUY_LIMIT
            if ask <= o.price_open if buy else bid >= o.price_open:
                del self._orders[o.ticket]
                args = (o.magic, o.volume_current, o.price_open, o.sl, o.tp, o.symbol, o.comment)
                self._open(o.ticket, buy, *args, DEAL_REASON_EXPERT)
        for p in [p for p in self._positions.values() if p.symbol == symbol]:
            price, sign = (bid, 1.0) if p.type == 0 else (ask, -1.0)  # a long exits at the bid
            if p.sl and sign * (price - p.sl) <= 0:
                reason, comment = DEAL_REASON_SL, f"[sl {p.sl:.5f}]"
            elif p.tp and sign * (price - p.tp) >= 0:
                reason, comment = DEAL_REASON_TP, f"[tp {p.tp:.5f}]"
            else:
                continue
            self._close(p.ticket, self._next_ticket(), p.volume, price, p.magic, comment, reason)

    def rollover(self, nights: int | None = None) -> None:
        """The rollover at the end of the server day ``clock()`` falls in: every position accrues
        its symbol's swap for ``nights``, by default as a server counts them (three on the
        symbol's triple-swap day, none on Saturday and Sunday, one otherwise)."""
        now = self.clock()
        server_day = dt.datetime.fromtimestamp(now + server_offset_s(self.server_tz, now), dt.UTC)
        weekday = (server_day.weekday() + 1) % 7  # ENUM_DAY_OF_WEEK counts from Sunday
        for ticket, p in self._positions.items():
            info = self._symbols[p.symbol]
            rate = info.swap_long if p.type == 0 else info.swap_short
            n = nights if nights is not None else _nights(weekday, info.swap_rollover3days)
            self._positions[ticket] = p._replace(swap=p.swap + rate * p.volume * n)

    def _fail(self, code: int, text: str) -> None:
        self._error = (code, text)

    def _next_ticket(self) -> int:
        return next(self._tickets)

    def _now_server(self) -> tuple[int, int]:
        """The server clock now: (time, time_msc) in server time."""
        now = self.clock()
        msc = int(now * 1000) + server_offset_s(self.server_tz, now) * 1000
        return msc // 1000, msc

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

    def version(self) -> tuple[int, int, str] | None:
        """(terminal version, build, release date)."""
        return (500, 5000, "01 Jan 2026") if self._live() else None

    def terminal_info(self) -> TerminalInfo | None:
        """Connection state of the terminal."""
        return TerminalInfo(True, True, 5000, "MT5TerminalSimulator") if self._live() else None

    def _live(self) -> bool:
        if not self.connected:
            self._fail(-10004, "No IPC connection")
        return self.connected

    def account_info(self) -> AccountInfo | None:
        """Balance, equity (with floating profit and swap) and margin."""
        if not self._live():
            return None
        profit = sum(self._profit(p) + p.swap for p in self._positions.values())
        margin = sum(
            p.volume * self._symbols[p.symbol].trade_contract_size * p.price_open / self.leverage
            for p in self._positions.values()
        )
        eq = self.balance + profit
        return AccountInfo(
            1, self.balance, eq, profit, margin, eq - margin, self.leverage, self.currency, "Sim-Server"
        )

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

    def history_deals_get(
        self,
        date_from: Any = None,
        date_to: Any = None,
        *,
        ticket: int | None = None,
        position: int | None = None,
        group: str | None = None,
    ) -> tuple[TradeDeal, ...] | None:
        """Deals of an order ``ticket``, of a ``position``, or made within ``[date_from, date_to]``
        (server time); without any of them the call is invalid, as in the real module."""
        if not self._live():
            return None
        if ticket is not None or position is not None:
            return tuple(
                d
                for d in self._deals
                if (ticket is None or d.order == ticket) and (position is None or d.position_id == position)
            )
        if date_from is None or date_to is None:
            self._fail(-2, "Invalid arguments")
            return None
        lo, hi = as_server_s(date_from), as_server_s(date_to)
        return tuple(d for d in self._deals if lo <= d.time <= hi)
