"""Authentication: ledger API keys (hashed, verified once then cached) and JWT for UI sessions.

Each scrypt costs CPU, so guessing is limited: password attempts per username and per client
IP, and failed key verifications per client IP, answer 429 (RateLimitedError) once spent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time

import jwt

from realtime.access.ratelimit import TokenBucketLimiter
from realtime.errors import RateLimitedError
from realtime.ledger.accounts import ROLES, Principal
from realtime.ledger.keys import key_id_of
from realtime.ledger.store import Ledger

_ALG = "HS256"


class Authenticator:
    """Turns an API key or a bearer token into a :class:`Principal`, or None."""

    def __init__(
        self,
        ledger: Ledger,
        jwt_secret: str | None,
        jwt_ttl_s: int = 3600,
        cache_ttl_s: float = 60.0,
        login_limiter: TokenBucketLimiter | None = None,
        bad_key_limiter: TokenBucketLimiter | None = None,
    ):
        self.ledger, self.jwt_secret, self.jwt_ttl_s = ledger, jwt_secret, jwt_ttl_s
        self.cache_ttl_s = cache_ttl_s
        # Attempts per "user:NAME" and "ip:HOST"; failed key verifications per client host.
        self.login_limiter = login_limiter or TokenBucketLimiter(6 / 60, 5)
        self.bad_key_limiter = bad_key_limiter or TokenBucketLimiter(30 / 60, 10)
        # sha256(key) -> (principal, expiry): scrypt runs once per key per TTL, not per request;
        # the TTL bounds how long a revoked key keeps working in this process.
        self._cache: dict[bytes, tuple[Principal, float]] = {}
        self._lock = threading.Lock()
        # One scrypt at a time: when many requests arrive with a new key at once, the first
        # verifies it and the rest find it cached, instead of each burning ~50 ms of CPU; it
        # also stops a flood of wrong keys from taking every core.
        self._verify_lock = threading.Lock()
        # user_id -> ((role, session_version) or None when disabled/gone, expiry): a token is
        # checked against its user's current state, read at most once per TTL per user.
        self._sessions: dict[int, tuple[tuple[str, int] | None, float]] = {}
        self.session_ttl_s = min(cache_ttl_s, 5.0)

    def cached(self, key: str) -> Principal | None:
        """The cached principal of ``key``, when verified recently."""
        hit = self._cache.get(hashlib.sha256(key.encode()).digest())
        return hit[0] if hit is not None and hit[1] > time.monotonic() else None

    def from_key(self, key: str, client: str | None = None) -> Principal | None:
        """Verify ``key`` against the ledger (blocking: scrypt + a query).

        Raises RateLimitedError when ``client`` (its host) has spent its failed verifications.
        """
        if len(key) > 200:
            return None
        with self._verify_lock:
            principal = self.cached(key)  # verified by a request that held the lock before us
            if principal is not None:
                return principal
            # Under the verify lock, so checking then charging the bucket cannot race.
            # Per address and key id: only a known key id costs an scrypt (an unknown one is
            # refused by a lookup), so guessing one key's secret is what needs limiting, and a
            # desk's valid key is not refused because another key failed from the same address.
            bucket = f"ip:{client}:{key_id_of(key)}"
            wait = self.bad_key_limiter.wait(bucket) if client else 0.0
            if wait:
                raise RateLimitedError("too many failed API key attempts from this address", wait)
            principal = self.ledger.accounts.principal_for_key(key)
            if principal is None and client:
                self.bad_key_limiter.acquire(bucket)
            if principal is not None:
                with self._lock:
                    self._cache[hashlib.sha256(key.encode()).digest()] = (
                        principal,
                        time.monotonic() + self.cache_ttl_s,
                    )
        return principal

    def forget(self, key_id: str | None = None) -> None:
        """Drop the cached key ``key_id`` (every cached key when None)."""
        with self._lock:
            if key_id is None:
                self._cache.clear()
            else:
                self._cache = {h: v for h, v in self._cache.items() if v[0].key_id != key_id}

    def forget_user(self, user_id: int) -> None:
        """Drop every cached key and session state of ``user_id`` (after a governance change)."""
        with self._lock:
            self._cache = {h: v for h, v in self._cache.items() if v[0].user_id != user_id}
            self._sessions.pop(user_id, None)

    def _session_state(self, user_id: int) -> tuple[str, int] | None:
        hit = self._sessions.get(user_id)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        state = self.ledger.accounts.session_state(user_id)
        with self._lock:
            self._sessions[user_id] = (state, time.monotonic() + self.session_ttl_s)
        return state

    def revoke(self, key_id: str) -> bool:
        """Revoke key ``key_id`` in the ledger and drop it from the cache, so that this
        process refuses it from the next request on; True when a live key was revoked."""
        revoked = self.ledger.accounts.revoke_api_key(key_id)
        self.forget(key_id)  # also when already revoked: a stale cache entry must not survive
        return revoked

    def from_password(self, name: str, password: str, client: str | None) -> Principal | None:
        """Verify a password, within the per-username and per-client attempt limits.

        Every attempt is charged (a success too: one login per session is rare) before the
        scrypt runs, so concurrent guesses cannot slip past the check; raises RateLimitedError.
        """
        waits = [self.login_limiter.acquire(f"user:{name}")]
        if client:
            waits.append(self.login_limiter.acquire(f"ip:{client}"))
        if max(waits):
            raise RateLimitedError("too many login attempts; try again later", max(waits))
        return self.ledger.accounts.principal_for_password(name, password)

    def still_valid(self, p: Principal, token: str | None) -> bool:
        """Whether an open session may go on: its token unexpired, or its key not revoked."""
        if p.key_id.startswith("session:"):
            return token is not None and self.from_token(token) is not None
        return self.ledger.accounts.key_is_live(p.key_id)

    def issue_token(self, p: Principal) -> str:
        """A signed HS256 token for ``p``, valid for ``jwt_ttl_s``."""
        if not self.jwt_secret:
            raise RuntimeError("JWT sessions are disabled: set REALTIME_JWT_SECRET")
        state = self.ledger.accounts.session_state(p.user_id)
        if state is None:
            raise RuntimeError(f"user {p.user_id} is disabled")
        now = dt.datetime.now(dt.UTC)
        claims = {
            "sv": state[1],
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
        sub = claims.get("sub")
        if claims.get("role") not in ROLES or not isinstance(sub, str) or not sub.isdigit():
            return None  # signed by us, so only an old or foreign token shape: refuse it
        # The user's sessions end when it is disabled, changes role or has them revoked.
        state = self._session_state(int(sub))
        if state is None or state != (claims["role"], claims.get("sv")):
            return None
        return Principal(
            int(claims["sub"]), str(claims.get("name", "")), claims["role"], f"session:{claims['sub']}"
        )
