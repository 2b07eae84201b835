"""Benchmark: an LLM call answered from the response cache vs. one that goes to the provider.

Both run through ``LLMRouter.complete`` against the local OpenAI-compatible server on
127.0.0.1 (so the uncached figure is a floor: a real provider adds network and generation
time). Prints JSON lines: value = us per cached call (in process, then Redis when it answers
on 127.0.0.1:6379 db 15); baseline = us per uncached call (the same router, use_cache=False);
ratio = baseline / value (how many times faster).
"""

from __future__ import annotations

import json
import socket
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from prometheus_client import CollectorRegistry  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from ml.llm.cache import InProcessCache, RedisCache, ResponseCache  # noqa: E402
from ml.llm.metrics import LLMMetrics  # noqa: E402
from ml.llm.router import LLMRouter  # noqa: E402
from ml.llm.settings import ProviderConfig  # noqa: E402
from tests.support.openai_server import LocalOpenAICompatServer  # noqa: E402

PROMPT = "Summarise today's EURUSD session for the desk in three sentences."


def per_call_us(router: LLMRouter, n: int, use_cache: bool) -> float:
    router.complete(PROMPT, use_cache=use_cache)  # warm up: connection, cache entry
    start = time.perf_counter()
    for _ in range(n):
        router.complete(PROMPT, use_cache=use_cache)
    return (time.perf_counter() - start) / n * 1e6


def redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def main() -> None:
    with LocalOpenAICompatServer() as srv:
        provider = ProviderConfig("openai", srv.base_url, SecretStr("sk-bench-0000"), "bench")

        def router(cache: ResponseCache) -> LLMRouter:
            return LLMRouter([provider], timeout_s=5.0, cache=cache,
                             metrics=LLMMetrics(CollectorRegistry()))

        baseline = per_call_us(router(InProcessCache()), 200, use_cache=False)
        caches: list[tuple[str, ResponseCache]] = [("llm_cache_hit_in_process", InProcessCache())]
        if redis_up():
            caches.append(("llm_cache_hit_redis",
                           RedisCache("redis://127.0.0.1:6379/15",
                                      prefix=f"alphaforge:bench:{uuid.uuid4().hex}:")))
        for name, cache in caches:
            value = per_call_us(router(cache), 2000, use_cache=True)
            print(json.dumps({"name": name, "value": round(value, 1), "unit": "us/call",
                              "baseline": round(baseline, 1),
                              "ratio": round(baseline / value, 1)}))
            if isinstance(cache, RedisCache):
                cache.clear()


if __name__ == "__main__":
    main()
