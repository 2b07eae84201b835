"""Response cache: in process by default, in Redis (127.0.0.1:6379, db 15) when configured."""

from __future__ import annotations

import importlib.util
import uuid

import pytest

from ml.llm.cache import InProcessCache, RedisCache, cache_key
from ml.llm.metrics import cache_hit_rate
from ml.llm.router import LLMRouter
from ml.llm.settings import LLMSettings
from tests.conftest import require

HAS_REDIS = importlib.util.find_spec("redis") is not None


def test_cache_key_ignores_param_order_and_separates_provider_model_prompt_params():
    msgs = [{"role": "user", "content": "hi"}]
    base = cache_key("openai", "m", msgs, {"temperature": 0.0, "max_tokens": 5})
    assert base == cache_key("openai", "m", msgs, {"max_tokens": 5, "temperature": 0.0})
    assert len({
        base,
        cache_key("deepseek", "m", msgs, {"temperature": 0.0, "max_tokens": 5}),
        cache_key("openai", "m2", msgs, {"temperature": 0.0, "max_tokens": 5}),
        cache_key("openai", "m", [{"role": "user", "content": "ho"}],
                  {"temperature": 0.0, "max_tokens": 5}),
        cache_key("openai", "m", msgs, {"temperature": 0.5, "max_tokens": 5}),
    }) == 5


def test_in_process_hit_skips_the_provider_and_is_counted(make_router, server, metrics):
    router = make_router()
    assert cache_hit_rate(metrics) == 0.0
    first = router.complete("brief me", max_tokens=50)
    second = router.complete("brief me", max_tokens=50)
    assert not first.cached and second.cached
    assert second.text == first.text and second.cost_usd == 0.0
    assert server.calls() == 1
    assert cache_hit_rate(metrics) == 0.5
    router.complete("brief me", max_tokens=51)  # other params: a miss
    assert server.calls() == 2
    assert cache_hit_rate(metrics) == pytest.approx(1 / 3)
    assert router.usage.cache_hits == 1 and router.usage.cache_misses == 2
    router.complete("brief me", max_tokens=50, use_cache=False)
    assert server.calls() == 3


def test_in_process_entries_expire_after_ttl(make_router, server):
    now = [1000.0]
    router = make_router(cache=InProcessCache(clock=lambda: now[0]), cache_ttl_s=60)
    router.complete("x")
    now[0] += 59
    assert router.complete("x").cached
    now[0] += 2
    assert not router.complete("x").cached
    assert server.calls() == 2


def test_in_process_cache_is_bounded():
    cache = InProcessCache(max_entries=2)
    for key in "abc":
        cache.set(key, {"v": key}, 60)
    assert cache.get("a") is None and cache.get("c") == {"v": "c"}


def test_a_fallback_answer_is_cached_under_the_provider_that_gave_it(make_router, server):
    server.script("gpt-local", "timeout")
    router = make_router()
    assert router.complete("x").provider == "deepseek"
    hit = router.complete("x")
    assert hit.cached and hit.provider == "deepseek"
    assert server.calls("gpt-local") == 1  # the hit did not try openai again


@pytest.fixture
def redis_cache(redis_url):
    require(HAS_REDIS, "the redis package is not installed (pip install redis==8.1.0)")
    cache = RedisCache(redis_url, prefix=f"alphaforge:test:{uuid.uuid4().hex}:")
    yield cache
    cache.clear()


def test_redis_cache_is_shared_between_routers_with_ttl(make_router, server, metrics,
                                                        redis_cache):
    worker_a = make_router(cache=redis_cache, cache_ttl_s=30)
    worker_b = make_router(cache=redis_cache, cache_ttl_s=30)  # another process, same Redis
    first = worker_a.complete("daily brief", user="alice")
    second = worker_b.complete("daily brief", user="bob")
    assert not first.cached and second.cached and second.text == first.text
    assert server.calls() == 1
    assert cache_hit_rate(metrics) == 0.5
    msgs = [{"role": "user", "content": "daily brief"}]
    ttl = redis_cache.ttl_ms(cache_key("openai", "gpt-local", msgs, {"temperature": 0.0}))
    assert 0 < ttl <= 30_000


def test_settings_with_redis_url_select_the_redis_cache(server, keys, metrics, redis_url):
    require(HAS_REDIS, "the redis package is not installed (pip install redis==8.1.0)")
    prefix = f"alphaforge:test:{uuid.uuid4().hex}:"
    settings = LLMSettings(openai_api_key=keys["openai"], openai_model="gpt-local",
                           openai_base_url=server.base_url, llm_redis_url=redis_url,
                           llm_cache_prefix=prefix, llm_timeout_s=0.3)
    router = LLMRouter.from_settings(settings, metrics=metrics)
    assert isinstance(router.cache, RedisCache) and router.cache.prefix == prefix
    try:
        router.complete("x")
        assert LLMRouter.from_settings(settings, metrics=metrics).complete("x").cached
    finally:
        router.cache.clear()


def test_redis_entry_expires(make_router, server, redis_cache):
    import time

    router = make_router(cache=redis_cache, cache_ttl_s=0.05)
    router.complete("short lived")
    time.sleep(0.1)
    assert not router.complete("short lived").cached
    assert server.calls() == 2


def test_redis_down_degrades_to_misses(make_router, server, caplog):
    require(HAS_REDIS, "the redis package is not installed (pip install redis==8.1.0)")
    router = make_router(cache=RedisCache("redis://127.0.0.1:1/15", socket_timeout_s=0.2))
    assert router.complete("x").provider == "openai"
    assert not router.complete("x").cached
    assert server.calls() == 2
    assert "redis cache get failed" in caplog.text
