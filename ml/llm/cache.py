"""Response cache keyed on (provider, model, prompt, params), with a TTL.

:class:`InProcessCache` is the default; :class:`RedisCache` is used when a Redis URL is
configured, so that several workers (Dagster pods, realtime replicas) share answers.
Values are the JSON-serialisable dicts the router stores (text plus usage).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from ml.llm.errors import LLMConfigError

logger = logging.getLogger(__name__)


def cache_key(provider: str, model: str, messages: Sequence[Mapping[str, Any]],
              params: Mapping[str, Any]) -> str:
    """A stable hex digest of the request; key order in ``params`` does not matter."""
    payload = json.dumps(
        {"provider": provider, "model": model, "messages": list(messages), "params": dict(params)},
        sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class ResponseCache(Protocol):
    """What the router needs from a cache."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def set(self, key: str, value: dict[str, Any], ttl_s: float) -> None: ...


class InProcessCache:
    """A dict with per-entry expiry; ``max_entries`` bounds memory (oldest entry evicted)."""

    def __init__(self, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.max_entries = max_entries
        self._clock = clock
        self._data: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return None
            expires, value = entry
            if self._clock() >= expires:
                del self._data[key]
                return None
            return value

    def set(self, key: str, value: dict[str, Any], ttl_s: float) -> None:
        with self._lock:
            if len(self._data) >= self.max_entries and key not in self._data:
                self._data.pop(next(iter(self._data)))  # dicts keep insertion order
            self._data[key] = (self._clock() + ttl_s, value)


class RedisCache:
    """Entries as JSON strings under ``prefix + key`` with Redis' own expiry (``SET ... PX``).

    A Redis outage degrades to cache misses (logged), never to a failed LLM call.
    """

    def __init__(self, url: str, prefix: str = "alphaforge:llm:", socket_timeout_s: float = 1.0):
        try:
            import redis  # optional: only needed when Redis is configured
        except ModuleNotFoundError:
            raise LLMConfigError("a Redis cache URL is configured but the redis package is not "
                                 "installed (pip install redis==8.1.0)") from None

        self.prefix = prefix
        self._redis = redis.Redis.from_url(url, socket_timeout=socket_timeout_s,
                                           socket_connect_timeout=socket_timeout_s)
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            raw = self._redis.get(self.prefix + key)
        except self._errors as exc:
            logger.warning("redis cache get failed, treating as a miss: %s", type(exc).__name__)
            return None
        return None if raw is None else json.loads(raw)

    def set(self, key: str, value: dict[str, Any], ttl_s: float) -> None:
        try:
            self._redis.set(self.prefix + key, json.dumps(value), px=max(1, int(ttl_s * 1000)))
        except self._errors as exc:
            logger.warning("redis cache set failed, answer not cached: %s", type(exc).__name__)

    def clear(self) -> int:
        """Delete every entry under this cache's prefix; returns how many were deleted."""
        keys = list(self._redis.scan_iter(match=self.prefix + "*", count=500))
        return int(self._redis.delete(*keys)) if keys else 0

    def ttl_ms(self, key: str) -> int:
        """Remaining lifetime of an entry in ms (-2 when absent), for inspection and tests."""
        return int(self._redis.pttl(self.prefix + key))
