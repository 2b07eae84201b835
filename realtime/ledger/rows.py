"""The ledger's rows as returned to callers: frozen dataclasses, never live database objects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal, TypeVar

R = TypeVar("R")


@dataclass(frozen=True)
class OrderRow:
    """One order as stored."""

    id: int
    user_id: int
    client_order_id: str
    symbol: str
    side: str
    type: str
    volume: float
    price: float | None
    sl: float | None
    tp: float | None
    position_id: int | None
    status: str
    broker_order_id: str | None
    fill_price: float | None
    message: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class PositionRow:
    """One position (hedging style: each opening fill is its own position)."""

    id: int
    symbol: str
    side: str
    volume: float
    open_price: float
    sl: float | None
    tp: float | None
    broker_position_id: str | None
    order_id: int | None
    status: str
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    close_price: float | None
    realized_pnl: float | None


_NAMES: dict[type, tuple[str, ...]] = {}


def from_mapping(cls: type[R], m: Mapping[Any, Any]) -> R:
    """A ``cls`` row from a result mapping (extra columns ignored)."""
    names = _NAMES.get(cls)
    if names is None:  # fields() builds a tuple per call; this runs on every order
        names = _NAMES[cls] = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    return cls(**{k: m[k] for k in names})


def closing_side(side: str) -> Literal["buy", "sell"]:
    """The side of the order that closes a position held on ``side``."""
    return "sell" if side == "buy" else "buy"
