"""Checks on an order's own fields before it reaches the ledger: symbol, lot step, price, sl/tp."""

from __future__ import annotations

from marketdata.errors import UnknownSymbolError
from marketdata.instruments import get_instrument
from realtime.errors import BadOrderError, IdempotencyConflictError
from realtime.ledger.rows import OrderRow
from realtime.schemas import OrderIn


def check_order_input(o: OrderIn, reference: float | None) -> None:
    """Symbol known, volume on the 0.01-lot grid, limit price present, sl/tp on the right side."""
    try:
        get_instrument(o.symbol)
    except UnknownSymbolError as exc:
        raise BadOrderError(str(exc)) from exc
    if abs(o.volume * 100 - round(o.volume * 100)) > 1e-6:
        raise BadOrderError(f"volume {o.volume} is not a multiple of the 0.01-lot step")
    if o.type == "limit" and o.price is None:
        raise BadOrderError("a limit order needs a price")
    if o.type == "market" and o.price is not None:
        raise BadOrderError("a market order takes no price; use type=limit")
    # sl/tp are checked against the price the order will fill at: the touch for a market order
    # and for a limit that is marketable now (it fills at the touch, better than its limit),
    # the limit price for one that rests.
    ref = reference
    if o.type == "limit" and o.price is not None:
        buy_now = o.side == "buy" and reference is not None and reference <= o.price
        sell_now = o.side == "sell" and reference is not None and reference >= o.price
        ref = reference if buy_now or sell_now else o.price
    if ref is None:
        return
    buy = o.side == "buy"
    if o.sl is not None and (o.sl >= ref if buy else o.sl <= ref):
        raise BadOrderError(
            f"sl {o.sl} is on the wrong side of the price {ref} for a {o.side}: "
            f"it must be {'below' if buy else 'above'} it"
        )
    if o.tp is not None and (o.tp <= ref if buy else o.tp >= ref):
        raise BadOrderError(
            f"tp {o.tp} is on the wrong side of the price {ref} for a {o.side}: "
            f"it must be {'above' if buy else 'below'} it"
        )


_SAME_FIELDS = ("symbol", "side", "type", "volume", "price", "sl", "tp")


def check_retry(first: OrderRow, o: OrderIn) -> None:
    """A reused client_order_id must repeat the first order's contents (standard idempotency);
    a different order under the same key is a client bug, so it is refused rather than silently
    answered with the first order."""
    diff = []
    for name in _SAME_FIELDS:
        old, new = getattr(first, name), getattr(o, name)
        same = old == new or (
            isinstance(old, float) and isinstance(new, float) and abs(old - new) <= 1e-9
        )
        if not same:
            diff.append(f"{name} {old!r} != {new!r}")
    if diff:
        raise IdempotencyConflictError(
            f"client_order_id {o.client_order_id!r} already names order {first.id} with different "
            f"contents ({', '.join(diff)}); use a new client_order_id for a new order"
        )
