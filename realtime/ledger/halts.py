"""The kill switch's persisted state, so that a restart does not silently resume trading.

One row of ``af_risk_state`` per switch holds the reason it is engaged (NULL when released);
every change also goes to the audit log, in the same transaction, which keeps the history.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from realtime.ledger import tables as t
from realtime.ledger.core import utcnow

if TYPE_CHECKING:
    from realtime.ledger.store import Ledger

log = logging.getLogger(__name__)
KILL_SWITCH = "kill_switch"


def load_halt(ledger: Ledger, name: str = KILL_SWITCH) -> str | None:
    """The reason switch ``name`` is engaged, or None when it is released (or never was).

    Creates the released row on first use, so that :func:`save_halt` is a plain UPDATE and
    never races another replica's INSERT inside a larger transaction.
    """
    q = sa.select(t.risk_state.c.reason).where(t.risk_state.c.name == name)
    with ledger.engine.connect() as c:
        row = c.execute(q).first()
    if row is not None:
        return None if row.reason is None else str(row.reason)
    try:
        with ledger.begin() as c:
            c.execute(
                t.risk_state.insert().values(name=name, reason=None, actor="system", updated_at=utcnow())
            )
    except IntegrityError:  # another replica created it first; it is released either way
        pass
    return None


def save_halt(ledger: Ledger, reason: str | None, actor: str, name: str = KILL_SWITCH) -> None:
    """Record switch ``name`` engaged with ``reason`` (None: released) and audit it, atomically.

    Joins the caller's unit of work when there is one (an order's pre-trade check), so the
    state commits with the rejected order.
    """
    values = {"reason": None if reason is None else reason[:500], "actor": actor[:64], "updated_at": utcnow()}
    action = f"{name}_engaged" if reason is not None else f"{name}_reset"
    with ledger.begin() as c:
        done = c.execute(t.risk_state.update().where(t.risk_state.c.name == name).values(**values))
        if done.rowcount == 0:
            c.execute(t.risk_state.insert().values(name=name, **values))
        ledger.audit(actor, action, {"reason": reason} if reason is not None else {}, conn=c)
    log.warning(
        "%s %s by %s%s", name, "engaged" if reason else "released", actor, f": {reason}" if reason else ""
    )
