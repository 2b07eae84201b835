"""/api/v1/positions and /api/v1/account."""

import datetime as dt

from fastapi import APIRouter, Query

from realtime.deps import ServicesDep, TraderDep, ViewerDep
from realtime.schemas import AccountOut, CloseIn, IdPath, OrderOut, PositionOut

router = APIRouter(tags=["positions"])


@router.get("/positions", response_model=list[PositionOut])
def list_positions(
    who: ViewerDep, svc: ServicesDep, state: str = Query("open", pattern="^(open|closed|all)$")
) -> list[PositionOut]:
    """Your open (or closed, or all) positions: those your orders opened (admins see everyone's)."""
    opener = None if who.allows("admin") else who.user_id
    rows = svc.ledger.positions(None if state == "all" else state, opener=opener)
    return [PositionOut.model_validate(p) for p in rows]


@router.post(
    "/positions/{position_id}/close",
    response_model=OrderOut,
    responses={
        404: {"description": "no open position of yours with this id"},
        409: {"description": "client_order_id already names a different order"},
        422: {"description": "more lots than the position has left (pending closes count)"},
    },
)
def close_position(
    position_id: IdPath, who: TraderDep, svc: ServicesDep, body: CloseIn | None = None
) -> OrderOut:
    """Close all (or ``volume`` lots) of your position with an opposite market order.

    The remaining volume is checked when the closing order is written, in its transaction.
    """
    body = body or CloseIn()
    order = svc.desk.close_position(who, position_id, body.volume, body.client_order_id)
    return OrderOut.model_validate(order)


@router.get("/account", response_model=AccountOut)
def account(who: ViewerDep, svc: ServicesDep) -> AccountOut:
    """The desk's balance, equity, margin and today's P&L for admins; for others their own
    P&L today (the desk's balance is not theirs to see)."""
    acct = svc.desk.account()  # the watch runs on quotes; this read feeds it too, for free
    today = dt.datetime.now(dt.UTC).date()
    if not who.allows("admin"):  # the desk's account is the admins' business
        return AccountOut(
            scope="user",
            broker=svc.broker.name,
            balance=None,
            equity=None,
            margin=None,
            daily_pnl=svc.ledger.user_daily_pnl(who.user_id, today),
            currency=acct.currency,
            trading_halted=svc.risk.killed_reason,
        )
    return AccountOut(
        scope="desk",
        broker=svc.broker.name,
        balance=acct.balance,
        equity=acct.equity,
        margin=acct.margin,
        daily_pnl=svc.ledger.trades.daily_pnl(today),
        currency=acct.currency,
        trading_halted=svc.risk.killed_reason,
    )
