"""The auto-trader: follows the champion model's signal on the configured symbols with its own
positions, never a trader's."""

from __future__ import annotations

import logging

from realtime.brokers.base import Side
from realtime.errors import RealtimeError
from realtime.inference.signals import Signal
from realtime.ledger.accounts import Principal
from realtime.ledger.rows import PositionRow
from realtime.ledger.trades import SYSTEM_USER_ID
from realtime.schemas import OrderIn
from realtime.services import Services

log = logging.getLogger(__name__)
AUTO = Principal(SYSTEM_USER_ID, "auto-trader", "trader", "auto")


def auto_positions(svc: Services, symbol: str) -> list[PositionRow]:
    """Open positions in ``symbol`` that the auto-trader opened itself (an opening order of the
    AUTO principal with an ``auto-`` client id); a trader's manual positions are never its own."""
    out = []
    # The ledger selects the AUTO principal's positions: no order lookup per open position of
    # every trader on each signal.
    for p in svc.ledger.positions(opener=AUTO.user_id):
        order = svc.ledger.get_order(p.order_id) if p.symbol == symbol and p.order_id else None
        if order is not None and order.client_order_id.startswith("auto-"):
            out.append(p)
    return out


def auto_trade(svc: Services, sig: Signal) -> None:
    """Follow the signal on an auto-traded symbol: open on a direction, flip on a reversal."""
    if sig.symbol not in svc.settings.auto_trade_symbols or sig.signal == 0:
        return
    side: Side = "buy" if sig.signal > 0 else "sell"
    mine = auto_positions(svc, sig.symbol)
    if any(p.side == side for p in mine):
        return
    try:
        for p in mine:  # opposite exposure: close first
            close = OrderIn(symbol=p.symbol, side=side, volume=p.volume, client_order_id=f"auto-close-{p.id}")
            svc.orders.place(AUTO, close, position_id=p.id)
        cid = f"auto-{sig.symbol}-{int(sig.features_ts.timestamp())}"
        svc.orders.place(
            AUTO,
            OrderIn(symbol=sig.symbol, side=side, volume=svc.settings.auto_trade_lots, client_order_id=cid),
        )
    except RealtimeError as exc:
        log.warning("auto-trade on %s skipped: %s", sig.symbol, exc)
