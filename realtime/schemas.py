"""Request and response schemas."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, field_validator

# Ledger ids are 64-bit integers on every backend.
IdPath = Annotated[int, Path(ge=1, le=2**62)]


class StrictIn(BaseModel):
    """Base of every request body: unknown fields refused, no coercion (``true`` is not 1 lot,
    ``"yes"`` is not True, ``"0.1"`` is not a number), and only finite numbers (Python's json
    module reads ``NaN``, ``Infinity`` and ``1e309`` as floats)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class SignalOut(BaseModel):
    """The latest signal for one symbol."""

    symbol: str
    signal: int
    prob_up: float
    features_ts: dt.datetime
    model_version: str


class HealthOut(BaseModel):
    """Liveness, and which model is served."""

    status: str
    model_name: str
    model_version: str
    model_alias: str
    symbols: list[str]
    mode: Literal["trading", "signals-only"] = "trading"
    trading_enabled: bool = True
    banner: str | None = None  # what a person must know, e.g. why orders are refused


class OrderIn(StrictIn):
    """A new order. ``volume`` is in lots; ``client_order_id`` makes retries safe."""

    symbol: str = Field(min_length=3, max_length=16, examples=["EURUSD"])
    side: Literal["buy", "sell"]
    type: Literal["market", "limit"] = "market"
    volume: float = Field(gt=0, le=1000, description="lots", examples=[0.1])
    price: float | None = Field(default=None, gt=0)
    sl: float | None = Field(default=None, gt=0)
    tp: float | None = Field(default=None, gt=0)
    client_order_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")

    @field_validator("symbol")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.upper()


class CloseIn(StrictIn):
    """Close all or part of a position."""

    volume: float | None = Field(default=None, gt=0, le=1000)
    client_order_id: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$"
    )


class OrderOut(BaseModel):
    """An order as the ledger holds it."""

    # Read straight from the ledger's row dataclass (dataclasses.asdict deep-copies every field).
    model_config = ConfigDict(from_attributes=True)

    id: int
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


class PositionOut(BaseModel):
    """An open or closed position."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    symbol: str
    side: str
    volume: float
    open_price: float
    sl: float | None
    tp: float | None
    broker_position_id: str | None
    order_id: int | None  # the order that opened it
    status: str
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    realized_pnl: float | None


class RoundTripOut(BaseModel):
    """A closed position with its costs, in the account currency: ``net_pnl`` is ``gross_pnl``
    less ``commission`` (opening and closing fills) plus ``swap`` (a charge is negative)."""

    model_config = ConfigDict(from_attributes=True)

    position_id: int
    client_order_id: str
    symbol: str
    side: str
    volume: float
    opened_at: dt.datetime
    closed_at: dt.datetime
    gross_pnl: float
    commission: float
    swap: float
    net_pnl: float


class AccountOut(BaseModel):
    """Balance, equity, margin and today's P&L; ``trading_halted`` names the kill switch's reason.

    ``scope`` "desk" (admins): the broker account's figures. "user": balance, equity and margin
    are the desk's and not shown; ``daily_pnl`` is the caller's own (its positions' P&L today)."""

    scope: Literal["desk", "user"]
    broker: str
    balance: float | None
    equity: float | None
    margin: float | None
    daily_pnl: float
    currency: str
    trading_halted: str | None


class TokenIn(StrictIn):
    """UI login."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    """A bearer token for UI sessions."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int


class ErrorOut(BaseModel):
    """Every error the service answers itself (auth, roles, limits, domain errors, bad JSON)."""

    detail: str


class ReadyOut(BaseModel):
    """Readiness: each dependency's check, and the served model (503 when one fails)."""

    ready: bool
    checks: dict[str, bool]
    model_version: str
    model_reload_error: str | None
