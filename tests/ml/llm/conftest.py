"""Fixtures for the LLM tests: a local OpenAI-compatible server and routers pointed at it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from ml.llm.metrics import LLMMetrics
from ml.llm.router import LLMRouter
from ml.llm.settings import ProviderConfig
from tests.support.openai_server import LocalOpenAICompatServer

MODELS = {"openai": "gpt-local", "deepseek": "deepseek-local", "gemini": "gemini-local"}
CLIENT_TIMEOUT_S = 0.3  # the server's "timeout" action sleeps 1 s, well past this


@pytest.fixture(autouse=True)
def no_llm_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests configure providers explicitly; a developer's real keys must not leak in."""
    import os

    for name in list(os.environ):
        if name.startswith("ALPHAFORGE_") and any(
            p in name for p in ("OPENAI", "DEEPSEEK", "GEMINI", "LLM_")
        ):
            monkeypatch.delenv(name)


@pytest.fixture
def server() -> Iterator[LocalOpenAICompatServer]:
    with LocalOpenAICompatServer(slow_s=1.0) as srv:
        yield srv


@pytest.fixture
def metrics() -> LLMMetrics:
    """Metrics on a private registry, so counts start at zero in every test."""
    return LLMMetrics(CollectorRegistry())


@pytest.fixture
def keys() -> dict[str, str]:
    """Fresh fake API keys, unique per test so a leak cannot come from another test."""
    return {name: f"sk-test-{name}-{uuid.uuid4().hex}" for name in MODELS}


@pytest.fixture
def sleeps() -> list[float]:
    """Backoff delays the router asked for (the router sleeps through this list's append)."""
    return []


@pytest.fixture
def make_router(server: LocalOpenAICompatServer, metrics: LLMMetrics, keys: dict[str, str],
                sleeps: list[float]) -> Callable[..., LLMRouter]:
    """Build a router over all three providers (or ``names``), every one served locally."""

    def build(names: tuple[str, ...] = ("openai", "deepseek", "gemini"),
              prices: tuple[float, float] = (0.0, 0.0), **kwargs) -> LLMRouter:
        providers = [
            ProviderConfig(name, server.base_url, SecretStr(keys[name]), MODELS[name], *prices)
            for name in names
        ]
        kwargs.setdefault("timeout_s", CLIENT_TIMEOUT_S)
        kwargs.setdefault("backoff_s", 0.01)
        kwargs.setdefault("metrics", metrics)
        kwargs.setdefault("sleep", sleeps.append)
        return LLMRouter(providers, **kwargs)

    return build
