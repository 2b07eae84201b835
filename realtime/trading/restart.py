"""What a restart rebuilds from the ledger: an in-process account (paper), which keeps no state
of its own."""

from __future__ import annotations

from realtime.brokers.base import BrokerPosition, LocalAccount, OrderIntent, Side
from realtime.errors import LedgerError
from realtime.ledger.store import Ledger


def side_of(side: str) -> Side:
    """A ledger row's side as the broker's ``Side``; LedgerError for anything else."""
    if side == "buy":
        return "buy"
    if side == "sell":
        return "sell"
    raise LedgerError(f"ledger row has side {side!r}; expected 'buy' or 'sell'")


def restore_account(broker: LocalAccount, ledger: Ledger, opening_balance: float) -> None:
    """Put an in-process account (``capabilities.restored_from_ledger``) back as the ledger left
    it: open positions with their sl/tp, resting limit orders under their broker ids, the balance
    with every realised P&L, swap and commission since the ledger began (not the opening balance
    again), and how far each position's swap is settled, so no rollover is charged twice."""
    positions = ledger.positions()
    swapped = ledger.swaps_through()
    broker_pos = {p.id: p.broker_position_id or str(p.id) for p in positions}
    working = [
        (
            o.broker_order_id,
            OrderIntent(
                o.id, o.symbol, side_of(o.side), "limit", o.volume, o.price, o.sl, o.tp,
                broker_pos.get(o.position_id) if o.position_id is not None else None,
            ),
        )
        for o in ledger.list_orders(status=("placed",), limit=100_000)
        if o.broker_order_id is not None
    ]
    broker.restore(
        [
            BrokerPosition(
                broker_pos[p.id], p.symbol, side_of(p.side), p.volume, p.open_price, p.order_id,
                sl=p.sl, tp=p.tp,
            )
            for p in positions
        ],
        working,
        opening_balance + ledger.lifetime_pnl(),
        # Swap is settled up to the last rollover booked, else from the position's opening.
        {broker_pos[p.id]: swapped.get(p.id, p.opened_at) for p in positions},
        ids_after=ledger.max_broker_id(),
    )
