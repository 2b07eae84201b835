"""/api/v1/auth/token: a JWT for UI sessions from a username and password."""

from fastapi import APIRouter, HTTPException, status
from fastapi.concurrency import run_in_threadpool

from realtime.deps import ServicesDep
from realtime.schemas import TokenIn, TokenOut

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token")
async def token(body: TokenIn, svc: ServicesDep) -> TokenOut:
    """Exchange a password for a bearer token (503 when JWT sessions are not configured)."""
    if not svc.auth.jwt_secret:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "JWT sessions are disabled: set REALTIME_JWT_SECRET"
        )
    who = await run_in_threadpool(svc.ledger.accounts.principal_for_password, body.username, body.password)
    if who is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
    return TokenOut(access_token=svc.auth.issue_token(who), expires_in=svc.auth.jwt_ttl_s)
