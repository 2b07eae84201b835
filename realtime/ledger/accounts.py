"""Users and API keys in the ledger; only scrypt hashes are stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from realtime.errors import ConflictError, NotFoundError
from realtime.ledger import tables as t
from realtime.ledger.core import LedgerCore, new_id, utcnow
from realtime.ledger.keys import BOOTSTRAP_PREFIX, hash_secret, key_id_of, new_api_key, verify_secret

ROLES = ("viewer", "trader", "admin")
# A password check against this when the user does not exist, so that a wrong username costs
# the same scrypt as a wrong password and login timing does not tell which names exist.
_DUMMY_HASH = hash_secret("no such user")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user, their role, and the key (or session) used."""

    user_id: int
    name: str
    role: str
    key_id: str

    def allows(self, role: str) -> bool:
        """True when this principal's role is at least ``role``."""
        return ROLES.index(self.role) >= ROLES.index(role)


class Accounts:
    """User and key operations of a :class:`Ledger`."""

    def __init__(self, ledger: LedgerCore):
        self.engine = ledger.engine
        self._ledger = ledger

    def ensure_user(self, name: str, role: str, password: str | None = None) -> int:
        """The id of user ``name``, creating it with ``role`` when absent."""
        try:
            return self.create_user(name, role, password)
        except ConflictError:
            with self.engine.connect() as c:
                return c.execute(sa.select(t.users.c.id).where(t.users.c.name == name)).scalar_one()

    def create_user(self, name: str, role: str, password: str | None = None) -> int:
        """Create user ``name``; ConflictError when the name is taken (its role is not changed
        behind the caller's back: a new key for it comes from :meth:`add_api_key`)."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {role!r}")
        pw = hash_secret(password) if password else None
        try:
            with self._ledger.begin() as c:
                return new_id(
                    c.execute(
                        t.users.insert().values(name=name, role=role, password_hash=pw, created_at=utcnow())
                    )
                )
        except IntegrityError:
            raise ConflictError(
                f"user {name!r} already exists; issue it a key with POST /admin/users/{name}/keys "
                f"or change it with PATCH /admin/users/{name}"
            ) from None

    def user(self, name: str) -> dict[str, Any]:
        """User ``name`` as a dict (id, name, role, disabled, live_keys); NotFoundError if none."""
        for u in self.users(name):
            return u
        raise NotFoundError(f"no user named {name!r}")

    def users(self, name: str | None = None) -> list[dict[str, Any]]:
        """Every user (or only ``name``), with whether it is disabled and its live key ids."""
        q = sa.select(t.users.c.id, t.users.c.name, t.users.c.role, t.users.c.disabled_at).order_by(
            t.users.c.id
        )
        if name is not None:
            q = q.where(t.users.c.name == name)
        keys = sa.select(t.api_keys.c.user_id, t.api_keys.c.key_id).where(t.api_keys.c.revoked_at.is_(None))
        with self.engine.connect() as c:
            rows = c.execute(q).mappings().all()
            live: dict[int, list[str]] = {}
            for k in c.execute(keys).mappings():
                live.setdefault(int(k["user_id"]), []).append(str(k["key_id"]))
        return [
            {
                "id": r["id"],
                "name": r["name"],
                "role": r["role"],
                "disabled": r["disabled_at"] is not None,
                "live_keys": live.get(r["id"], []),
            }
            for r in rows
        ]

    def update_user(
        self, name: str, role: str | None = None, disabled: bool | None = None, password: str | None = None
    ) -> dict[str, Any]:
        """Change a user's role, disabled flag or password. Any change also ends the user's
        sessions (a token carries the role it was issued with). Returns the user."""
        if role is not None and role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {role!r}")
        values: dict[str, Any] = {"session_version": t.users.c.session_version + 1}
        if role is not None:
            values["role"] = role
        if disabled is not None:
            values["disabled_at"] = utcnow() if disabled else None
        if password is not None:
            values["password_hash"] = hash_secret(password)
        with self._ledger.begin() as c:
            n = c.execute(t.users.update().where(t.users.c.name == name).values(values)).rowcount
        if not n:
            raise NotFoundError(f"no user named {name!r}")
        return self.user(name)

    def revoke_sessions(self, name: str) -> None:
        """End every session (JWT) of user ``name``; its API keys keep working."""
        self.update_user(name)

    def revoke_user_keys(self, user_id: int, keep: str | None = None) -> list[str]:
        """Revoke every live key of ``user_id`` except ``keep``; the revoked key ids."""
        live = t.api_keys.c.revoked_at.is_(None)
        with self._ledger.begin() as c:
            ids = [
                r[0]
                for r in c.execute(
                    sa.select(t.api_keys.c.key_id).where(t.api_keys.c.user_id == user_id, live)
                )
                if r[0] != keep
            ]
            if ids:
                c.execute(t.api_keys.update().where(t.api_keys.c.key_id.in_(ids)).values(revoked_at=utcnow()))
        return ids

    def session_state(self, user_id: int) -> tuple[str, int] | None:
        """(role, session_version) of an enabled user; None when it is gone or disabled."""
        q = sa.select(t.users.c.role, t.users.c.session_version, t.users.c.disabled_at).where(
            t.users.c.id == user_id
        )
        with self.engine.connect() as c:
            m = c.execute(q).first()
        return None if m is None or m[2] is not None else (m[0], int(m[1]))

    def install_bootstrap_key(self, key: str) -> list[str]:
        """Make ``key`` the operator's admin key, revoking any earlier bootstrap key: changing
        ``REALTIME_API_KEY`` retires the old one. Returns the revoked key ids (audited)."""
        admin = self.ensure_user("admin", "admin")
        self.add_api_key(admin, key)
        current = key_id_of(key)
        with self._ledger.begin() as c:
            old = [
                r[0]
                for r in c.execute(
                    sa.select(t.api_keys.c.key_id).where(
                        t.api_keys.c.user_id == admin,
                        t.api_keys.c.revoked_at.is_(None),
                        t.api_keys.c.key_id.startswith(BOOTSTRAP_PREFIX),
                        t.api_keys.c.key_id != current,
                    )
                )
            ]
            if old:
                c.execute(t.api_keys.update().where(t.api_keys.c.key_id.in_(old)).values(revoked_at=utcnow()))
                self._ledger.audit("system", "bootstrap_key_rotated", {"revoked": old}, conn=c)
        return old

    def add_api_key(self, user_id: int, key: str | None = None) -> str:
        """Store the hash of ``key`` (a fresh one when None) for ``user_id``; return the raw key."""
        key_id = key_id_of(key) if key else None
        if key is None:
            key_id, key = new_api_key()
        try:
            with self._ledger.begin() as c:
                exists = c.execute(sa.select(t.api_keys.c.id).where(t.api_keys.c.key_id == key_id)).first()
                if exists is None:
                    c.execute(
                        t.api_keys.insert().values(
                            key_id=key_id, user_id=user_id, key_hash=hash_secret(key), created_at=utcnow()
                        )
                    )
                    self._ledger.audit(
                        "system", "api_key_created", {"user_id": user_id, "key_id": key_id}, conn=c
                    )
        except IntegrityError:
            # Workers (or replicas) starting together install the same bootstrap key: whoever
            # lost the race between the check and the insert finds the key stored, and is done.
            with self.engine.connect() as c:
                q = sa.select(t.api_keys.c.user_id).where(t.api_keys.c.key_id == key_id)
                if c.execute(q).scalar_one_or_none() != user_id:
                    raise
        return key

    def revoke_api_key(self, key_id: str) -> bool:
        """Revoke a key by id; True when a live key was revoked."""
        with self._ledger.begin() as c:
            n = c.execute(
                t.api_keys.update()
                .where(t.api_keys.c.key_id == key_id, t.api_keys.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            ).rowcount
        return bool(n)

    def key_is_live(self, key_id: str) -> bool:
        """Whether key ``key_id`` exists, is not revoked and its user is enabled (one indexed
        query, no scrypt)."""
        q = (
            sa.select(t.api_keys.c.revoked_at, t.users.c.disabled_at)
            .join(t.users, t.users.c.id == t.api_keys.c.user_id)
            .where(t.api_keys.c.key_id == key_id)
        )
        with self.engine.connect() as c:
            row = c.execute(q).first()
        return row is not None and row[0] is None and row[1] is None

    def principal_for_key(self, key: str) -> Principal | None:
        """Verify a raw key against its stored hash; None when unknown, revoked or wrong."""
        key_id = key_id_of(key)
        q = (
            sa.select(
                t.api_keys.c.key_hash,
                t.api_keys.c.revoked_at,
                t.users.c.id,
                t.users.c.name,
                t.users.c.role,
                t.users.c.disabled_at,
            )
            .join(t.users, t.users.c.id == t.api_keys.c.user_id)
            .where(t.api_keys.c.key_id == key_id)
        )
        with self.engine.connect() as c:
            m = c.execute(q).mappings().first()
        if m is None or m["revoked_at"] is not None or m["disabled_at"] is not None:
            return None
        if not verify_secret(key, m["key_hash"]):
            return None
        return Principal(m["id"], m["name"], m["role"], key_id)

    def principal_for_password(self, name: str, password: str) -> Principal | None:
        """Verify a user's password (for UI sessions); None when wrong."""
        with self.engine.connect() as c:
            m = c.execute(t.users.select().where(t.users.c.name == name)).mappings().first()
        stored = m["password_hash"] if m is not None and m["password_hash"] else _DUMMY_HASH
        ok = verify_secret(password, stored)  # always one scrypt: no timing tell
        if m is None or not m["password_hash"] or not ok or m["disabled_at"] is not None:
            return None
        return Principal(m["id"], m["name"], m["role"], f"session:{m['id']}")
