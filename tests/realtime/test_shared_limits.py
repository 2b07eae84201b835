"""Rate limits shared through Redis: several workers or replicas spend one bucket per key."""

from __future__ import annotations

import uuid

from realtime.access.ratelimit import RedisTokenBucketLimiter, TokenBucketLimiter, make_limiter


def test_two_workers_share_one_bucket(redis_url: str) -> None:
    prefix = f"af:test:{uuid.uuid4().hex}:"
    # Two limiters stand for two processes: same Redis, same prefix, no shared memory.
    a = RedisTokenBucketLimiter(redis_url, prefix, rate=0.001, burst=5)
    b = RedisTokenBucketLimiter(redis_url, prefix, rate=0.001, burst=5)
    allowed = sum(1 for i in range(20) if (a if i % 2 else b).acquire("key1") == 0.0)
    assert allowed == 5
    assert a.wait("key1") > 0 and b.acquire("key1") > 0
    # Other keys have their own bucket.
    assert a.acquire("key2") == 0.0


def test_wait_takes_nothing(redis_url: str) -> None:
    lim = RedisTokenBucketLimiter(redis_url, f"af:test:{uuid.uuid4().hex}:", rate=0.001, burst=2)
    for _ in range(10):
        assert lim.wait("k") == 0.0
    assert lim.acquire("k") == 0.0 and lim.acquire("k") == 0.0
    assert lim.acquire("k") > 0.0


def test_refill_follows_the_rate(redis_url: str) -> None:
    now = [1000.0]
    lim = RedisTokenBucketLimiter(redis_url, f"af:test:{uuid.uuid4().hex}:", 2.0, 2, clock=lambda: now[0])
    assert lim.acquire("k") == 0.0 and lim.acquire("k") == 0.0
    assert lim.acquire("k") == 0.5  # one token at 2/s
    now[0] += 0.5
    assert lim.acquire("k") == 0.0


def test_redis_down_falls_back_to_this_process() -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    lim = RedisTokenBucketLimiter(f"redis://127.0.0.1:{port}/0", "af:x:", rate=0.001, burst=3)
    assert [lim.acquire("k") == 0.0 for _ in range(5)] == [True, True, True, False, False]


def test_make_limiter_picks_the_backend(redis_url: str) -> None:
    assert type(make_limiter(1.0, 1, None, "x")) is TokenBucketLimiter
    assert isinstance(make_limiter(1.0, 1, redis_url, "x"), RedisTokenBucketLimiter)
