"""/api/v1/orders: place, list, read and cancel orders."""


from fastapi import APIRouter, Query, Response, status

from realtime.deps import ServicesDep, TraderDep, ViewerDep
from realtime.errors import NotFoundError, SignalsOnlyError
from realtime.schemas import IdPath, OrderIn, OrderOut

router = APIRouter(prefix="/orders", tags=["orders"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderOut,
    responses={
        200: {"description": "a retry: the first order with this client_order_id"},
        403: {"description": "risk limit"},
        409: {"description": "client_order_id already names a different order of yours"},
        423: {"description": "kill switch engaged, or signals-only mode (no promoted model)"},
        503: {"description": "broker unavailable; the order is recorded as failed"},
    },
)
async def place_order(body: OrderIn, who: TraderDep, svc: ServicesDep, response: Response) -> OrderOut:
    """Place a market or limit order; it is written to the ledger before the broker sees it."""
    if svc.engine.loaded.signals_only:
        raise SignalsOnlyError(svc.engine.loaded.banner or "signals only: orders are refused")
    order, created = await svc.desk.place_async(who, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return OrderOut.model_validate(order)


@router.get("", response_model=list[OrderOut])
def list_orders(
    who: ViewerDep,
    svc: ServicesDep,
    status_: str | None = Query(None, alias="status", pattern="^[a-z]{4,12}$"),
    limit: int = Query(100, ge=1, le=1000),
) -> list[OrderOut]:
    """Your orders, newest first (admins see everyone's)."""
    uid = None if who.allows("admin") else who.user_id
    rows = svc.ledger.list_orders(uid, (status_,) if status_ else None, limit)
    return [OrderOut.model_validate(o) for o in rows]


@router.get("/{order_id}", response_model=OrderOut)
def get_order(order_id: IdPath, who: ViewerDep, svc: ServicesDep) -> OrderOut:
    """One order."""
    order = svc.ledger.get_order(order_id)
    if order is None or (order.user_id != who.user_id and not who.allows("admin")):
        raise NotFoundError(f"no order {order_id}")
    return OrderOut.model_validate(order)


@router.delete("/{order_id}", response_model=OrderOut)
def cancel_order(order_id: IdPath, who: TraderDep, svc: ServicesDep) -> OrderOut:
    """Cancel a working (limit) order."""
    return OrderOut.model_validate(svc.orders.cancel(who, order_id))
