"""/admin: model reload, kill switch, users and keys (admin role)."""

from typing import Literal

from fastapi import APIRouter, Path
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from realtime.deps import AdminDep, ServicesDep
from realtime.errors import NotFoundError
from realtime.ledger.keys import key_id_of
from realtime.schemas import StrictIn

router = APIRouter(prefix="/admin", tags=["admin"])


class UserIn(StrictIn):
    """A user to create, with a fresh API key."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    role: Literal["viewer", "trader", "admin"]
    password: str | None = Field(default=None, min_length=12, max_length=256)


class KillIn(StrictIn):
    """Why trading stops, and whether to close every position."""

    reason: str = Field(min_length=1, max_length=200)
    flatten: bool = False


@router.post("/reload")
async def reload_model(who: AdminDep, svc: ServicesDep) -> dict[str, object]:
    """Reload the alias now; on failure the old model keeps serving and the error is returned."""
    return await run_in_threadpool(svc.reloader.reload)


@router.post("/users", status_code=201)
def create_user(body: UserIn, who: AdminDep, svc: ServicesDep) -> dict[str, object]:
    """Create (or find) a user and issue a new API key; the key is shown once."""
    uid = svc.ledger.accounts.ensure_user(body.name, body.role, body.password)
    key = svc.ledger.accounts.add_api_key(uid)
    svc.ledger.audit(who.name, "user_key_issued", {"user": body.name, "role": body.role})
    return {"user_id": uid, "name": body.name, "role": body.role, "api_key": key, "key_id": key_id_of(key)}


@router.post("/keys/{key_id}/revoke", responses={404: {"description": "No live key with this id"}})
def revoke_key(
    who: AdminDep, svc: ServicesDep, key_id: str = Path(min_length=1, max_length=16)
) -> dict[str, object]:
    """Revoke an API key by its public id; the next request with it gets 401, and open
    WebSockets using it close (see routes.ws). 404 when no live key has this id."""
    if not svc.auth.revoke(key_id):
        raise NotFoundError(f"no live API key with id {key_id!r}")
    svc.ledger.audit(who.name, "api_key_revoked", {"key_id": key_id})
    return {"key_id": key_id, "revoked": True}


@router.post("/kill")
def kill(body: KillIn, who: AdminDep, svc: ServicesDep) -> dict[str, object]:
    """Engage the kill switch by hand (it survives restarts): cancel working orders, optionally flatten."""
    actions = svc.desk.kill(f"{body.reason} (by {who.name})", body.flatten, who.name)
    return {"halted": svc.risk.killed_reason, "actions": actions}


@router.post("/resume")
def resume(who: AdminDep, svc: ServicesDep) -> dict[str, object]:
    """Release the kill switch (also after a restart); the drawdown peak restarts at today's equity."""
    svc.desk.resume(who.name)
    return {"halted": None}
