"""Response schemas."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


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
