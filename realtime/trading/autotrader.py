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
from realtime.trading.desk import Desk

log = logging.getLogger(__name__)
AUTO = Principal(SYSTEM_USER_ID, "auto-trader", "trader", "auto")


class AutoTrader:
    """Trades ``lots`` on each signal of ``symbols`` through the desk: open on a direction, flip on
    a reversal, hold on a flat signal."""

    def __init__(self, desk: Desk, symbols: list[str], lots: float):
        self.desk, self.symbols, self.lots = desk, set(symbols), lots

    def positions(self, symbol: str) -> list[PositionRow]:
        """Open positions in ``symbol`` that the auto-trader opened itself (an opening order of the
        AUTO principal with an ``auto-`` client id); a trader's manual positions are never its own."""
        ledger = self.desk.ledger
        out = []
        # The ledger selects the AUTO principal's positions: no order lookup per open position of
        # every trader on each signal.
        for p in ledger.positions(opener=AUTO.user_id):
            order = ledger.get_order(p.order_id) if p.symbol == symbol and p.order_id else None
            if order is not None and order.client_order_id.startswith("auto-"):
                out.append(p)
        return out

    def on_signal(self, sig: Signal) -> None:
        """Follow the signal on an auto-traded symbol: open on a direction, flip on a reversal."""
        if sig.symbol not in self.symbols or sig.signal == 0:
            return
        side: Side = "buy" if sig.signal > 0 else "sell"
        mine = self.positions(sig.symbol)
        if any(p.side == side for p in mine):
            return
        try:
            for p in mine:  # opposite exposure: close first
                self.desk.close_position(AUTO, p.id, client_order_id=f"auto-close-{p.id}")
            cid = f"auto-{sig.symbol}-{int(sig.features_ts.timestamp())}"
            self.desk.place(
                AUTO, OrderIn(symbol=sig.symbol, side=side, volume=self.lots, client_order_id=cid)
            )
        except RealtimeError as exc:
            log.warning("auto-trade on %s skipped: %s", sig.symbol, exc)
