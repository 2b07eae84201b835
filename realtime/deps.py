"""Dependencies: settings, the signal engine and API-key auth, as Annotated aliases."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader

from realtime.settings import Settings
from realtime.signals import SignalEngine

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


def get_settings(request: Request) -> Settings:
    """Settings loaded once in the lifespan."""
    return request.app.state.settings


def get_engine(request: Request) -> SignalEngine:
    """The signal engine built in the lifespan."""
    return request.app.state.engine


def require_api_key(
    key: Annotated[str | None, Depends(_api_key_header)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> str:
    """401 unless the X-API-Key header matches, compared in constant time."""
    expected = settings.api_key.get_secret_value()
    if key is None or not secrets.compare_digest(key.encode(), expected.encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or invalid API key",
                            headers={"WWW-Authenticate": "X-API-Key"})
    return key


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[SignalEngine, Depends(get_engine)]
