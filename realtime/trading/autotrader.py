"""The auto-trader: trades the champion model's signal on the configured symbols through the
one trading policy the evaluation backtest and the optimiser use (:class:`ml.policy.TradingPolicy`),
with its own positions, never a trader's."""

from __future__ import annotations

import logging
from collections.abc import Callable

from marketdata.instruments import get_instrument
from ml.policy import TradingPolicy
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


def order_prefix(model_version: str) -> str:
    """The client id prefix of the orders that open positions for ``model_version``'s signals,
    by which its trades are told from another version's (a paper period is judged on them)."""
    return f"auto-v{model_version}-"


class AutoTrader:
    """Holds, per signal of ``symbols``, the position ``policy`` targets: long on +1, short on
    -1, flat on 0, and flat after its stop or target closed a position until the signal turns."""

    def __init__(self, desk: Desk, symbols: list[str], policy: TradingPolicy,
                 may_trade: Callable[[], bool] = lambda: True):
        self.desk, self.symbols, self.policy = desk, set(symbols), policy
        self.may_trade = may_trade  # False while the served model is signals-only
        self._held: dict[str, int] = {}  # the direction last held per symbol
        self._blocked: dict[str, int] = {}

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
        """Move the auto-trader's position in ``sig.symbol`` to the policy's target."""
        if sig.symbol not in self.symbols or not self.may_trade():
            return
        mine = self.positions(sig.symbol)
        current = 0 if not mine else (1 if mine[0].side == "buy" else -1)
        if self._held.get(sig.symbol, 0) != 0 and current == 0:
            # closed without us (its stop or target at the broker): flat until the signal turns
            self._blocked[sig.symbol] = self._held[sig.symbol]
        target, self._blocked[sig.symbol] = self.policy.target(sig.signal, self._blocked.get(sig.symbol, 0))
        self._held[sig.symbol] = current
        if target == current and all((p.side == "buy") == (target > 0) for p in mine):
            return
        try:
            for p in mine:  # the wrong side, or a flat target: close first
                self.desk.close_position(AUTO, p.id, client_order_id=f"auto-close-{p.id}")
            self._held[sig.symbol] = 0
            if target == 0:
                return
            side: Side = "buy" if target > 0 else "sell"
            sl = tp = None
            quote = self.desk.broker.quote(sig.symbol)
            if quote is not None:  # levels from the touch the market order fills at
                touch = quote.ask if target > 0 else quote.bid
                sl, tp = self.policy.stops(get_instrument(sig.symbol), side, touch)
            cid = f"{order_prefix(sig.model_version)}{sig.symbol}-{int(sig.features_ts.timestamp())}"
            order = OrderIn(symbol=sig.symbol, side=side, volume=self.policy.order_lots(),
                            client_order_id=cid, sl=sl, tp=tp)
            self.desk.place(AUTO, order)
            self._held[sig.symbol] = target
        except RealtimeError as exc:
            log.warning("auto-trade on %s skipped: %s", sig.symbol, exc)
