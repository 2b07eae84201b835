"""/admin: model reload, kill switch, users and keys (admin role)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Path
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from realtime.deps import AdminDep, ServicesDep
from realtime.errors import ConflictError, NotFoundError
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


class UserPatch(StrictIn):
    """Changes to a user; any change also ends the user's sessions."""

    role: Literal["viewer", "trader", "admin"] | None = None
    disabled: bool | None = None
    password: str | None = Field(default=None, min_length=12, max_length=256)


class KeyIn(StrictIn):
    """A new key for a user; ``revoke_others`` rotates (every other key of the user revoked)."""

    revoke_others: bool = False


UserName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


@router.post("/users", status_code=201, responses={409: {"description": "The name is taken"}})
def create_user(body: UserIn, who: AdminDep, svc: ServicesDep) -> dict[str, object]:
    """Create a user and issue its first API key (shown once); 409 when the name is taken."""
    uid = svc.ledger.accounts.create_user(body.name, body.role, body.password)
    key = svc.ledger.accounts.add_api_key(uid)
    svc.ledger.audit(
        who.name, "user_created", {"user": body.name, "role": body.role, "key_id": key_id_of(key)}
    )
    return {"user_id": uid, "name": body.name, "role": body.role, "api_key": key, "key_id": key_id_of(key)}


@router.get("/users")
def list_users(who: AdminDep, svc: ServicesDep) -> list[dict[str, object]]:
    """Every user: role, whether disabled, and its live key ids."""
    return svc.ledger.accounts.users()


@router.patch(
    "/users/{name}",
    responses={
        404: {"description": "No such user"},
        409: {"description": "An admin disabling or demoting itself"},
    },
)
def update_user(name: UserName, body: UserPatch, who: AdminDep, svc: ServicesDep) -> dict[str, object]:
    """Change a user's role, disable or enable it, or reset its password; effective at once
    (its sessions end, its cached keys are dropped, its open WebSockets close)."""
    if name == who.name and (body.disabled or (body.role is not None and body.role != "admin")):
        raise ConflictError("an admin cannot disable or demote itself; ask another admin")
    user = svc.ledger.accounts.update_user(name, body.role, body.disabled, body.password)
    svc.auth.forget_user(int(user["id"]))
    changes = body.model_dump(exclude_none=True)
    if "password" in changes:
        changes["password"] = "(reset)"
    svc.ledger.audit(who.name, "user_updated", {"user": name, **changes})
    return user


@router.post("/users/{name}/keys", status_code=201, responses={404: {"description": "No such user"}})
def issue_key(name: UserName, body: KeyIn, who: AdminDep, svc: ServicesDep) -> dict[str, object]:
    """Issue a new API key for an existing user (shown once); with ``revoke_others`` it rotates."""
    user = svc.ledger.accounts.user(name)
    uid = int(user["id"])
    key = svc.ledger.accounts.add_api_key(uid)
    revoked = svc.ledger.accounts.revoke_user_keys(uid, keep=key_id_of(key)) if body.revoke_others else []
    svc.auth.forget_user(uid)
    svc.ledger.audit(
        who.name, "user_key_issued", {"user": name, "key_id": key_id_of(key), "revoked": revoked}
    )
    return {
        "user_id": uid,
        "name": name,
        "role": user["role"],
        "api_key": key,
        "key_id": key_id_of(key),
        "revoked": revoked,
    }


@router.post("/users/{name}/sessions/revoke", responses={404: {"description": "No such user"}})
def revoke_sessions(name: UserName, who: AdminDep, svc: ServicesDep) -> dict[str, object]:
    """End every session (bearer token) of the user at once; its API keys keep working."""
    user = svc.ledger.accounts.user(name)
    svc.ledger.accounts.revoke_sessions(name)
    svc.auth.forget_user(int(user["id"]))
    svc.ledger.audit(who.name, "sessions_revoked", {"user": name})
    return {"name": name, "sessions_revoked": True}


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
