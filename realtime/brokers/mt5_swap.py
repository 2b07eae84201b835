"""Overnight swap at an MT5 terminal: what the server charged a position, and the rate that
converts the terminal's deposit currency to the service's account currency.

The server charges swap at its rollover (midnight server time; three nights at once on the
symbol's triple-swap day, usually Wednesday) onto the open position (``position.swap``), and a
closing deal realises the closed share of it (``deal.swap``). A position's swap so far is
therefore its open swap plus the swap of its closing deals, in the deposit currency.
"""

from __future__ import annotations

from typing import Any

from ml.costs.currency import conversion_pair, rate_from_mid
from ml.costs.errors import InvalidCostError
from realtime.brokers import mt5_constants as c
from realtime.errors import BrokerError, BrokerUnavailableError


def closed_swap(mt5: Any, broker_position_id: str) -> tuple[float, float]:
    """The swap realised by the closing deals of a position (deposit currency), and the lots
    those deals leave open: what the history says, read in one call."""
    deals = mt5.history_deals_get(position=int(broker_position_id))
    if deals is None:
        raise BrokerUnavailableError(f"MT5 history_deals_get failed: last_error={mt5.last_error()}")
    closing = [d for d in deals if d.entry != c.DEAL_ENTRY_IN]
    opened = sum(float(d.volume) for d in deals if d.entry == c.DEAL_ENTRY_IN)
    return sum(float(d.swap) for d in closing), opened - sum(float(d.volume) for d in closing)


def check_convertible(deposit: str, account: str) -> None:
    """BrokerError when no catalogue pair converts ``deposit`` to ``account``."""
    try:
        conversion_pair(deposit, account)
    except InvalidCostError as exc:
        raise BrokerError(f"MT5 deposit currency {deposit}: {exc}") from exc


def deposit_rate(mt5: Any, deposit: str, account: str) -> float | None:
    """Deposit-to-account rate from the conversion pair's mid at the terminal (1.0 for the same
    currency); None while the terminal has no quote of that pair."""
    pair = conversion_pair(deposit, account)
    if pair is None:
        return 1.0
    symbol, inverted = pair
    tick = mt5.symbol_info_tick(symbol)
    if tick is None and mt5.symbol_select(symbol, True):  # not in MarketWatch yet
        tick = mt5.symbol_info_tick(symbol)
    if tick is None or not tick.bid or not tick.ask:
        return None
    return float(rate_from_mid((float(tick.bid) + float(tick.ask)) / 2.0, inverted))
