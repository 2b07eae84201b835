"""Per-user and global token budgets, reset each UTC day.

A request is refused *before* it is sent when the tokens already spent today plus an estimate
of this request would pass a limit; the actual usage is recorded after the answer arrives.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import defaultdict
from collections.abc import Callable

from ml.llm.errors import BudgetExceeded

GLOBAL = "global"
log = logging.getLogger(__name__)


def _utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def estimate_tokens(text: str, max_tokens: int | None) -> int:
    """A cheap upper-ish estimate: ~4 characters per token for the prompt, plus the reply cap."""
    return len(text) // 4 + 1 + (max_tokens or 0)


class TokenBudget:
    """Daily token limits; ``None`` means unlimited. Thread-safe; state is in process."""

    def __init__(self, per_user_limit: int | None = None, global_limit: int | None = None,
                 today: Callable[[], dt.date] = _utc_today):
        for name, limit in (("per_user_limit", per_user_limit), ("global_limit", global_limit)):
            if limit is not None and limit <= 0:
                raise ValueError(f"{name} must be positive or None, got {limit}")
        self.per_user_limit = per_user_limit
        self.global_limit = global_limit
        self._today = today
        self._day = today()
        self._used: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def _roll(self) -> None:
        today = self._today()
        if today != self._day:
            self._day, self._used = today, defaultdict(int)

    def used(self, user: str | None = None) -> int:
        """Tokens spent today by ``user`` (or by everyone when ``user`` is None)."""
        with self._lock:
            self._roll()
            return self._used[GLOBAL if user is None else f"user:{user}"]

    def check(self, user: str | None, requested: int) -> None:
        """Raise :class:`BudgetExceeded` when ``requested`` more tokens would pass a limit."""
        with self._lock:
            self._roll()
            if user is not None and self.per_user_limit is not None:
                used = self._used[f"user:{user}"]
                if used + requested > self.per_user_limit:
                    raise BudgetExceeded(f"user {user!r}", used, requested, self.per_user_limit)
            if self.global_limit is not None:
                used = self._used[GLOBAL]
                if used + requested > self.global_limit:
                    raise BudgetExceeded("all users (global)", used, requested, self.global_limit)

    def record(self, user: str | None, tokens: int) -> None:
        """Add spent tokens to the user's and the global tally."""
        with self._lock:
            self._roll()
            self._used[GLOBAL] += tokens
            if user is not None:
                self._used[f"user:{user}"] += tokens


class RedisTokenBudget(TokenBudget):
    """The same daily limits with the tallies in Redis, so every worker and replica spends one
    budget. Keys carry the UTC day and expire after two. When Redis cannot be reached the
    tallies of this process are used (logged) rather than refusing every request."""

    def __init__(self, url: str, prefix: str, per_user_limit: int | None = None,
                 global_limit: int | None = None, today: Callable[[], dt.date] = _utc_today):
        import redis  # a pinned dependency; imported here so the in-process budget needs none

        super().__init__(per_user_limit, global_limit, today)
        self.prefix = prefix
        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)

    def _key(self, name: str) -> str:
        return f"{self.prefix}{self._today().isoformat()}:{name}"

    def _shared(self, names: list[str]) -> dict[str, int] | None:
        try:
            values = self._redis.mget([self._key(n) for n in names])
        except self._errors as exc:
            log.warning("token budget: Redis unreachable (%s); counting in this process", exc)
            return None
        return {n: int(v or 0) for n, v in zip(names, values, strict=True)}

    def used(self, user: str | None = None) -> int:
        """Tokens spent today by ``user`` (or by everyone), across every process."""
        name = GLOBAL if user is None else f"user:{user}"
        shared = self._shared([name])
        return super().used(user) if shared is None else shared[name]

    def check(self, user: str | None, requested: int) -> None:
        """Raise :class:`BudgetExceeded` when ``requested`` more tokens would pass a limit."""
        names = [GLOBAL] + ([f"user:{user}"] if user is not None else [])
        shared = self._shared(names)
        if shared is None:
            super().check(user, requested)
            return
        if user is not None and self.per_user_limit is not None:
            used = shared[f"user:{user}"]
            if used + requested > self.per_user_limit:
                raise BudgetExceeded(f"user {user!r}", used, requested, self.per_user_limit)
        if self.global_limit is not None and shared[GLOBAL] + requested > self.global_limit:
            raise BudgetExceeded("all users (global)", shared[GLOBAL], requested, self.global_limit)

    def record(self, user: str | None, tokens: int) -> None:
        """Add spent tokens to the shared tallies (and this process's, for an outage)."""
        super().record(user, tokens)
        names = [GLOBAL] + ([f"user:{user}"] if user is not None else [])
        try:
            pipe = self._redis.pipeline()
            for n in names:
                pipe.incrby(self._key(n), tokens)
                pipe.expire(self._key(n), 2 * 86_400)
            pipe.execute()
        except self._errors as exc:
            log.warning("token budget: Redis unreachable (%s); counted in this process only", exc)


def make_budget(per_user_limit: int | None, global_limit: int | None, redis_url: str | None,
                prefix: str) -> TokenBudget:
    """A budget shared through Redis when ``redis_url`` is set, else in process."""
    if redis_url:
        return RedisTokenBudget(redis_url, prefix, per_user_limit, global_limit)
    return TokenBudget(per_user_limit, global_limit)
