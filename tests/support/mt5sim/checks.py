"""The trade server's checks of a request, answering the retcode a real server would.

In the order a server applies them: the symbol, prices, session, volume, order type and
filling mode, the position a close names (it must exist, be of the same symbol, be closed by
the opposite direction and by no more than its volume), a pending price on the right side of
the market, sl/tp on the right side at ``trade_stops_level`` points or more, and margin.
"""

from __future__ import annotations

from typing import Any

from realtime.brokers.mt5_constants import (
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
    TRADE_ACTION_PENDING,
    TRADE_ACTION_REMOVE,
    TRADE_RETCODE_INVALID,
    TRADE_RETCODE_INVALID_CLOSE_VOLUME,
    TRADE_RETCODE_INVALID_FILL,
    TRADE_RETCODE_INVALID_ORDER,
    TRADE_RETCODE_INVALID_PRICE,
    TRADE_RETCODE_INVALID_STOPS,
    TRADE_RETCODE_INVALID_VOLUME,
    TRADE_RETCODE_MARKET_CLOSED,
    TRADE_RETCODE_NO_MONEY,
    TRADE_RETCODE_POSITION_CLOSED,
    TRADE_RETCODE_PRICE_OFF,
)
from tests.support.mt5sim.records import SymbolInfo, Tick, TradePosition, TradeRequest

OK = (0, "Done")
_TYPES = (ORDER_TYPE_BUY, ORDER_TYPE_SELL, ORDER_TYPE_BUY_LIMIT, ORDER_TYPE_SELL_LIMIT)


def is_buy(order_type: int) -> bool:
    """True for the buying order types."""
    return order_type in (ORDER_TYPE_BUY, ORDER_TYPE_BUY_LIMIT)


def filling_allowed(info: SymbolInfo, action: int, filling: int) -> bool:
    """The symbol's SYMBOL_FILLING_* flags allow FOK and IOC; RETURN is refused for market
    orders under Market execution and always allowed for pending orders."""
    if filling == ORDER_FILLING_FOK:
        return bool(info.filling_mode & SYMBOL_FILLING_FOK)
    if filling == ORDER_FILLING_IOC:
        return bool(info.filling_mode & SYMBOL_FILLING_IOC)
    if filling == ORDER_FILLING_RETURN:
        return action == TRADE_ACTION_PENDING or info.trade_exemode != SYMBOL_TRADE_EXECUTION_MARKET
    return False


def _volume_ok(info: SymbolInfo, volume: float) -> bool:
    steps = volume / info.volume_step
    return info.volume_min <= volume <= info.volume_max and abs(steps - round(steps)) <= 1e-6


def _close_check(r: TradeRequest, pos: TradePosition | None) -> tuple[int, str] | None:
    if pos is None:
        return TRADE_RETCODE_POSITION_CLOSED, "Position doesn't exist"
    if pos.symbol != r.symbol:
        return TRADE_RETCODE_INVALID, "Invalid request: position of another symbol"
    if is_buy(r.type) == (pos.type == ORDER_TYPE_BUY):
        return TRADE_RETCODE_INVALID, "Invalid request: a close must trade against the position"
    if r.volume - pos.volume > 1e-9:
        return TRADE_RETCODE_INVALID_CLOSE_VOLUME, "Close volume exceeds the position volume"
    return None


def _stops_check(r: TradeRequest, info: SymbolInfo, tick: Tick, price: float) -> tuple[int, str] | None:
    buy, gap = is_buy(r.type), info.trade_stops_level * info.point
    # A buy limit rests below the ask, a sell limit above the bid, stops_level points away.
    wrong_side = r.price > tick.ask - gap if buy else r.price < tick.bid + gap
    if r.action == TRADE_ACTION_PENDING and wrong_side:
        return TRADE_RETCODE_INVALID_PRICE, "Invalid price"
    if (r.sl and (r.sl >= price - gap if buy else r.sl <= price + gap)) or (
        r.tp and (r.tp <= price + gap if buy else r.tp >= price - gap)
    ):
        return TRADE_RETCODE_INVALID_STOPS, "Invalid stops"
    return None


def validate(
    r: TradeRequest,
    info: SymbolInfo | None,
    tick: Tick | None,
    market_open: bool,
    positions: dict[int, TradePosition],
    orders: dict[int, Any],
    margin_free: float,
    leverage: float,
) -> tuple[int, str]:
    """``OK`` or the (retcode, comment) the server answers ``r`` with."""
    if r.action == TRADE_ACTION_REMOVE:
        return OK if r.order in orders else (TRADE_RETCODE_INVALID_ORDER, "Invalid order")
    if info is None or not info.visible:
        return TRADE_RETCODE_INVALID, "Invalid request: symbol not selected"
    if tick is None:
        return TRADE_RETCODE_PRICE_OFF, "No prices"
    if not market_open:
        return TRADE_RETCODE_MARKET_CLOSED, "Market closed"
    if not _volume_ok(info, r.volume):
        return TRADE_RETCODE_INVALID_VOLUME, "Invalid volume"
    if r.type not in _TYPES or (r.action == TRADE_ACTION_PENDING) != (r.type not in _TYPES[:2]):
        return TRADE_RETCODE_INVALID_ORDER, "Unsupported order type"
    if not filling_allowed(info, r.action, r.type_filling):
        return TRADE_RETCODE_INVALID_FILL, "Unsupported filling mode"
    if r.position:
        refused = _close_check(r, positions.get(r.position))
        return refused or OK
    price = r.price if r.action == TRADE_ACTION_PENDING else (tick.ask if is_buy(r.type) else tick.bid)
    refused = _stops_check(r, info, tick, price)
    if refused:
        return refused
    if r.volume * info.trade_contract_size * price / leverage > margin_free:
        return TRADE_RETCODE_NO_MONEY, "No money"
    return OK
