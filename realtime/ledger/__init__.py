"""The durable ledger: users, hashed API keys, orders, fills, positions and the audit log."""

from realtime.ledger.store import Ledger, OrderRow, PositionRow

__all__ = ["Ledger", "OrderRow", "PositionRow"]
