"""What the ledger's parts share below :class:`~realtime.ledger.store.Ledger`: its clock, the id
of a new row, and the transactions and order writes that :mod:`.accounts` and :mod:`.trades` use.

``Accounts`` and ``Trades`` type their ledger as :class:`LedgerCore` rather than importing the
``Ledger`` class, so ``store`` imports them and nothing imports ``store`` back: no import cycle.
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from typing import Any, Protocol

import sqlalchemy as sa

from realtime.errors import LedgerError
from realtime.ledger.rows import OrderRow


def utcnow() -> dt.datetime:
    """Timezone-aware now, the only clock the ledger uses."""
    return dt.datetime.now(dt.UTC)


def new_id(result: sa.CursorResult[Any]) -> int:
    """The primary key an INSERT just created."""
    key = result.inserted_primary_key
    if key is None:  # only for statements that are not single-row INSERTs
        raise LedgerError("the statement created no row")
    return int(key[0])


class LedgerCore(Protocol):
    """The transactions and order writes of a ledger (implemented by ``Ledger``)."""

    engine: sa.Engine

    def begin(self) -> AbstractContextManager[sa.Connection]:
        """A write transaction; joins the thread's unit of work when one is open."""
        ...

    def statement(self) -> AbstractContextManager[sa.Connection]:
        """A connection for one write statement that commits by itself."""
        ...

    def unit_of_work(self) -> AbstractContextManager[sa.Connection]:
        """One transaction for several ledger calls on this thread."""
        ...

    def create_order(self, user_id: int, client_order_id: str, **fields: Any) -> tuple[OrderRow, bool]:
        """Write a pending order; on a duplicate client id return (first order, False)."""
        ...

    def order_by_client_id(self, user_id: int, client_order_id: str) -> OrderRow | None:
        """The order a client id names, if any."""
        ...

    def audit(
        self, actor: str, action: str, detail: dict[str, Any], conn: sa.Connection | None = None
    ) -> None:
        """Append one audit entry (inside ``conn``'s transaction when given)."""
        ...
