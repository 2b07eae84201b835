"""Dependencies: services, the caller's principal (API key or bearer token), roles, rate limits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from realtime.errors import RateLimitedError
from realtime.inference.signals import SignalEngine
from realtime.ledger.accounts import Principal
from realtime.services import Services
from realtime.settings import Settings


async def get_services(conn: HTTPConnection) -> Services:
    """Everything built in the lifespan (for HTTP routes and WebSockets alike)."""
    return conn.app.state.svc


async def get_settings(request: Request) -> Settings:
    """Settings loaded once in the lifespan."""
    return request.app.state.svc.settings


async def get_engine(request: Request) -> SignalEngine:
    """The signal engine built in the lifespan."""
    return request.app.state.svc.engine


async def authenticate(
    svc: Services, key: str | None, token: str | None, client: str | None = None
) -> Principal | None:
    """The principal behind an API key (preferred) or a bearer token.

    ``client`` (the caller's host) bounds the failed key verifications it may force (429).
    """
    if key:
        return svc.auth.cached(key) or await run_in_threadpool(svc.auth.from_key, key, client)
    if token:
        return svc.auth.from_token(token)
    return None


async def current_principal(request: Request) -> Principal:
    """401 without valid credentials, 429 (with Retry-After) over the key's rate limit.

    Headers are read here directly rather than through nested security dependencies: every
    dependency level costs FastAPI tens of microseconds per request on the hot signal path. The
    OpenAPI schema still declares both schemes (see ``realtime.openapi``).
    """
    svc: Services = request.app.state.svc
    key = request.headers.get("x-api-key")
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    token = credentials.strip() if scheme.lower() == "bearer" and credentials.strip() else None
    principal = await authenticate(svc, key, token, request.client.host if request.client else None)
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or invalid API key or token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # One bucket per user, whether it calls with a key or a session token.
    wait = svc.limiter.acquire(f"user:{principal.user_id}")
    if wait:
        raise RateLimitedError(f"rate limit of {svc.limiter.rate:g} requests/s exceeded for this user", wait)
    return principal


def require_role(role: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting principals whose role is at least ``role`` (viewer < trader < admin)."""

    async def _dep(request: Request) -> Principal:
        p = await current_principal(request)
        if not p.allows(role):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs the {role} role; you are {p.role}")
        return p

    return _dep


require_viewer = require_role("viewer")

SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[SignalEngine, Depends(get_engine)]
ServicesDep = Annotated[Services, Depends(get_services)]
ViewerDep = Annotated[Principal, Depends(require_viewer)]
TraderDep = Annotated[Principal, Depends(require_role("trader"))]
AdminDep = Annotated[Principal, Depends(require_role("admin"))]
