"""Authentication: ledger API keys (hashed, verified once then cached) and JWT for UI sessions."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time

import jwt

from realtime.ledger.accounts import ROLES, Principal
from realtime.ledger.store import Ledger

_ALG = "HS256"


class Authenticator:
    """Turns an API key or a bearer token into a :class:`Principal`, or None."""

    def __init__(
        self, ledger: Ledger, jwt_secret: str | None, jwt_ttl_s: int = 3600, cache_ttl_s: float = 60.0
    ):
        self.ledger, self.jwt_secret, self.jwt_ttl_s = ledger, jwt_secret, jwt_ttl_s
        self.cache_ttl_s = cache_ttl_s
        # sha256(key) -> (principal, expiry): scrypt runs once per key per TTL, not per request;
        # the TTL bounds how long a revoked key keeps working in this process.
        self._cache: dict[bytes, tuple[Principal, float]] = {}
        self._lock = threading.Lock()
        # One scrypt at a time: when many requests arrive with a new key at once, the first
        # verifies it and the rest find it cached, instead of each burning ~50 ms of CPU; it
        # also stops a flood of wrong keys from taking every core.
        self._verify_lock = threading.Lock()

    def cached(self, key: str) -> Principal | None:
        """The cached principal of ``key``, when verified recently."""
        hit = self._cache.get(hashlib.sha256(key.encode()).digest())
        return hit[0] if hit is not None and hit[1] > time.monotonic() else None

    def from_key(self, key: str) -> Principal | None:
        """Verify ``key`` against the ledger (blocking: scrypt + a query)."""
        if len(key) > 200:
            return None
        with self._verify_lock:
            principal = self.cached(key)  # verified by a request that held the lock before us
            if principal is not None:
                return principal
            principal = self.ledger.accounts.principal_for_key(key)
            if principal is not None:
                with self._lock:
                    self._cache[hashlib.sha256(key.encode()).digest()] = (
                        principal,
                        time.monotonic() + self.cache_ttl_s,
                    )
        return principal

    def forget(self) -> None:
        """Drop every cached key (after a revocation)."""
        with self._lock:
            self._cache.clear()

    def issue_token(self, p: Principal) -> str:
        """A signed HS256 token for ``p``, valid for ``jwt_ttl_s``."""
        if not self.jwt_secret:
            raise RuntimeError("JWT sessions are disabled: set REALTIME_JWT_SECRET")
        now = dt.datetime.now(dt.UTC)
        claims = {
            "sub": str(p.user_id),
            "name": p.name,
            "role": p.role,
            "iat": now,
            "exp": now + dt.timedelta(seconds=self.jwt_ttl_s),
        }
        return jwt.encode(claims, self.jwt_secret, algorithm=_ALG)

    def from_token(self, token: str) -> Principal | None:
        """The principal of a valid, unexpired token; None otherwise."""
        if not self.jwt_secret:
            return None
        try:
            claims = jwt.decode(
                token, self.jwt_secret, algorithms=[_ALG], options={"require": ["exp", "sub"]}
            )
        except jwt.InvalidTokenError:
            return None
        if claims.get("role") not in ROLES:
            return None
        return Principal(
            int(claims["sub"]), str(claims.get("name", "")), claims["role"], f"session:{claims['sub']}"
        )
