"""The durable ledger: users, hashed API keys, orders, fills, positions and the audit log."""

from realtime.ledger.rows import OrderRow, PositionRow
from realtime.ledger.store import Ledger

__all__ = ["Ledger", "OrderRow", "PositionRow"]
