"""Per-key token buckets: ``rate`` requests/s sustained, ``burst`` at once; tells when to retry."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class TokenBucketLimiter:
    """One bucket per key. ``acquire`` returns 0.0 when allowed, else seconds until a token."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str, cost: float = 1.0) -> float:
        """Take ``cost`` tokens from ``key``'s bucket; 0.0 if taken, else the wait in seconds."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= cost:
                self._buckets[key] = (tokens - cost, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (cost - tokens) / self.rate

    def wait(self, key: str, cost: float = 1.0) -> float:
        """Seconds until ``key``'s bucket holds ``cost`` tokens (0.0: now), taking nothing.

        For limits on failures only: check before the costly attempt, ``acquire`` after it fails.
        """
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        return 0.0 if tokens >= cost else (cost - tokens) / self.rate


# KEYS[1]: the bucket; ARGV: rate, burst, cost, now (s), peek (1: take nothing). Answers the wait
# in seconds as a string (Lua numbers come back as integers otherwise). The clock is the
# caller's, so every worker must agree on wall time; TIME inside a script is not replicable.
_BUCKET_LUA = """
local rate, burst, cost, now, peek = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
  tonumber(ARGV[4]), tonumber(ARGV[5])
local st = redis.call('HMGET', KEYS[1], 't', 'l')
local tokens, last = tonumber(st[1]) or burst, tonumber(st[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
local wait = 0
if tokens >= cost then
  if peek == 0 then tokens = tokens - cost end
else
  wait = (cost - tokens) / rate
end
if peek == 0 then
  redis.call('HSET', KEYS[1], 't', tostring(tokens), 'l', tostring(now))
  redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
end
return tostring(wait)
"""


class RedisTokenBucketLimiter(TokenBucketLimiter):
    """The same buckets kept in Redis, so every worker and replica shares one limit per key.

    Each ``acquire`` is one atomic script call. When Redis cannot be reached the limiter falls
    back to this process's own buckets (logged) rather than refusing or waving every request.
    """

    def __init__(self, url: str, prefix: str, rate: float, burst: int,
                 clock: Callable[[], float] = time.time) -> None:
        import redis  # a pinned dependency; imported here so the in-process limiter needs none

        super().__init__(rate, burst, clock)
        self.prefix = prefix
        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._script = self._redis.register_script(_BUCKET_LUA)
        self._errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)

    def _call(self, key: str, cost: float, peek: int) -> float | None:
        try:
            args = [self.rate, self.burst, cost, self.clock(), peek]
            out = self._script(keys=[self.prefix + key], args=args)
        except self._errors as exc:
            log.warning("rate limiter: Redis unreachable (%s); limiting in this process", exc)
            return None
        return float(out)

    def acquire(self, key: str, cost: float = 1.0) -> float:
        """Take ``cost`` tokens from the shared bucket; 0.0 if taken, else the wait in seconds."""
        wait = self._call(key, cost, 0)
        return super().acquire(key, cost) if wait is None else wait

    def wait(self, key: str, cost: float = 1.0) -> float:
        """Seconds until the shared bucket holds ``cost`` tokens, taking nothing."""
        wait = self._call(key, cost, 1)
        return super().wait(key, cost) if wait is None else wait


def make_limiter(rate: float, burst: int, redis_url: str | None, name: str,
                 prefix: str = "af") -> TokenBucketLimiter:
    """A limiter shared through Redis when ``redis_url`` is set, else in process; its keys
    start with ``prefix`` (one per deployment sharing a Redis)."""
    if redis_url:
        return RedisTokenBucketLimiter(redis_url, f"{prefix}:rl:{name}:", rate, burst)
    return TokenBucketLimiter(rate, burst)
