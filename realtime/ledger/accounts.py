"""Users and API keys in the ledger; only scrypt hashes are stored."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from realtime.ledger import tables as t
from realtime.ledger.core import LedgerCore, new_id, utcnow
from realtime.ledger.keys import hash_secret, key_id_of, new_api_key, verify_secret

ROLES = ("viewer", "trader", "admin")


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
            with self.engine.connect() as c:
                return c.execute(sa.select(t.users.c.id).where(t.users.c.name == name)).scalar_one()

    def add_api_key(self, user_id: int, key: str | None = None) -> str:
        """Store the hash of ``key`` (a fresh one when None) for ``user_id``; return the raw key."""
        key_id = key_id_of(key) if key else None
        if key is None:
            key_id, key = new_api_key()
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
        """Whether key ``key_id`` exists and is not revoked (one indexed query, no scrypt)."""
        with self.engine.connect() as c:
            revoked = c.execute(
                sa.select(t.api_keys.c.revoked_at).where(t.api_keys.c.key_id == key_id)
            ).first()
        return revoked is not None and revoked[0] is None

    def principal_for_key(self, key: str) -> Principal | None:
        """Verify a raw key against its stored hash; None when unknown, revoked or wrong."""
        key_id = key_id_of(key)
        q = (
            sa.select(
                t.api_keys.c.key_hash, t.api_keys.c.revoked_at, t.users.c.id, t.users.c.name, t.users.c.role
            )
            .join(t.users, t.users.c.id == t.api_keys.c.user_id)
            .where(t.api_keys.c.key_id == key_id)
        )
        with self.engine.connect() as c:
            m = c.execute(q).mappings().first()
        if m is None or m["revoked_at"] is not None or not verify_secret(key, m["key_hash"]):
            return None
        return Principal(m["id"], m["name"], m["role"], key_id)

    def principal_for_password(self, name: str, password: str) -> Principal | None:
        """Verify a user's password (for UI sessions); None when wrong."""
        with self.engine.connect() as c:
            m = c.execute(t.users.select().where(t.users.c.name == name)).mappings().first()
        if m is None or not m["password_hash"] or not verify_secret(password, m["password_hash"]):
            return None
        return Principal(m["id"], m["name"], m["role"], f"session:{m['id']}")
