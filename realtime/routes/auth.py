"""/api/v1/auth/token: a JWT for UI sessions from a username and password."""

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool

from realtime.deps import ServicesDep
from realtime.schemas import TokenIn, TokenOut

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/token",
    responses={
        429: {
            "description": "too many attempts for this username or from this address",
            "headers": {
                "Retry-After": {
                    "description": "seconds to wait",
                    "required": True,
                    "schema": {"type": "integer"},
                }
            },
        }
    },
)
async def token(body: TokenIn, svc: ServicesDep, request: Request) -> TokenOut:
    """Exchange a password for a bearer token (503 when JWT sessions are not configured).

    Attempts are limited per username and per client address: 429 with Retry-After.
    """
    if not svc.auth.jwt_secret:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "JWT sessions are disabled: set REALTIME_JWT_SECRET"
        )
    client = request.client.host if request.client else None
    who = await run_in_threadpool(svc.auth.from_password, body.username, body.password, client)
    if who is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
    return TokenOut(access_token=svc.auth.issue_token(who), expires_in=svc.auth.jwt_ttl_s)
