"""Router behaviour against the local OpenAI-compatible server, through the real openai client."""

from __future__ import annotations

import time

import pytest
from pydantic import SecretStr

from ml.llm.errors import AllProvidersFailed, LLMConfigError, LLMUnavailable, PromptInputError
from ml.llm.router import LLMRouter
from ml.llm.settings import LLMSettings, ProviderConfig
from tests.ml.llm.conftest import MODELS
from tests.support.openai_server import LocalOpenAICompatServer, count_words


def requests_metric(metrics, provider: str, outcome: str) -> float:
    return metrics.sample("llm_requests_total", {"provider": provider, "outcome": outcome})


def test_answer_carries_usage_cost_and_metrics(make_router, server, metrics):
    router = make_router(prices=(0.5, 1.5))
    reply = router.complete("What moved EURUSD today?", user="alice")
    assert reply.provider == "openai" and reply.model == MODELS["openai"] and not reply.cached
    assert reply.text == "[gpt-local] answer to: What moved EURUSD today?"
    assert reply.prompt_tokens == 4 and reply.completion_tokens == count_words(reply.text)
    assert reply.cost_usd == pytest.approx((4 * 0.5 + reply.completion_tokens * 1.5) / 1000)
    labels = {"provider": "openai", "model": "gpt-local"}
    assert metrics.sample("llm_tokens_total", {**labels, "kind": "prompt"}) == 4
    assert metrics.sample("llm_tokens_total", {**labels, "kind": "completion"}) == 7
    assert metrics.sample("llm_cost_usd_total", labels) == pytest.approx(reply.cost_usd)
    assert requests_metric(metrics, "openai", "ok") == 1
    assert router.usage.total_tokens == reply.total_tokens and router.usage.requests == 1
    assert server.requests[0]["body"]["temperature"] == 0.0


def test_retries_429_and_500_with_growing_backoff_then_answers(make_router, server, metrics,
                                                               sleeps):
    server.script("gpt-local", "429", "500")
    reply = make_router(max_retries=2, backoff_s=0.01).complete("hi")
    assert reply.provider == "openai"
    assert server.calls("gpt-local") == 3 and server.calls("deepseek-local") == 0
    assert len(sleeps) == 2
    assert 0.005 <= sleeps[0] <= 0.01 and 0.01 <= sleeps[1] <= 0.02  # base*2^n, jittered 50-100%
    assert requests_metric(metrics, "openai", "rate_limited") == 1
    assert requests_metric(metrics, "openai", "server_error") == 1
    assert requests_metric(metrics, "openai", "ok") == 1


def test_retry_after_header_sets_the_delay(make_router, keys, sleeps):
    with LocalOpenAICompatServer(retry_after="0.05") as srv:
        provider = ProviderConfig("openai", srv.base_url, SecretStr(keys["openai"]), "m")
        srv.script("m", "429")
        router = LLMRouter([provider], timeout_s=0.3, sleep=sleeps.append,
                           metrics=make_router().metrics)
        assert router.complete("hi").provider == "openai"
    assert sleeps == [0.05]


def test_real_sleep_between_retries(make_router, server):
    server.script("gpt-local", "503")
    started = time.monotonic()
    reply = make_router(backoff_s=0.05, sleep=time.sleep).complete("hi")
    assert reply.provider == "openai" and server.calls("gpt-local") == 2
    assert time.monotonic() - started >= 0.025  # the jittered 0.05 s delay was really waited


def test_falls_back_to_next_provider_after_retries_run_out(make_router, server, metrics):
    server.set_default("gpt-local", "503")
    reply = make_router(max_retries=2).complete("hi")
    assert reply.provider == "deepseek" and reply.text.startswith("[deepseek-local]")
    assert server.calls("gpt-local") == 3 and server.calls("deepseek-local") == 1
    assert requests_metric(metrics, "openai", "server_error") == 3
    assert requests_metric(metrics, "deepseek", "ok") == 1


def test_timeout_falls_back_at_once(make_router, server, metrics):
    server.script("gpt-local", "timeout")
    reply = make_router(max_retries=3).complete("hi")
    assert reply.provider == "deepseek"
    assert server.calls("gpt-local") == 1  # a timeout is not retried on the same provider
    assert requests_metric(metrics, "openai", "timeout") == 1


@pytest.mark.parametrize("action", ["malformed", "no_choices"])
def test_malformed_answer_falls_back(make_router, server, metrics, action):
    server.script("gpt-local", action)
    server.script("deepseek-local", action)
    reply = make_router().complete("hi")
    assert reply.provider == "gemini"
    assert requests_metric(metrics, "openai", "malformed") == 1
    assert requests_metric(metrics, "deepseek", "malformed") == 1


def test_every_provider_failing_raises_llm_unavailable(make_router, server):
    for model in MODELS.values():
        server.set_default(model, "500")
    with pytest.raises(AllProvidersFailed) as info:
        make_router(max_retries=1).complete("hi")
    assert isinstance(info.value, LLMUnavailable)
    assert [f.split(":")[0] for f in info.value.failures] == ["openai", "deepseek", "gemini"]
    assert "InternalServerError" in str(info.value)
    assert server.calls() == 6


def test_no_provider_configured_raises_clear_llm_unavailable(metrics):
    router = LLMRouter.from_settings(LLMSettings(), metrics=metrics)
    assert not router.available
    with pytest.raises(LLMUnavailable, match="ALPHAFORGE_OPENAI_API_KEY"):
        router.complete("hi")
    assert metrics.sample("llm_requests_total", {"provider": "router",
                                                 "outcome": "unavailable"}) == 1


def test_settings_read_env_in_configured_order(monkeypatch, server, keys, metrics):
    monkeypatch.setenv("ALPHAFORGE_OPENAI_API_KEY", keys["openai"])
    monkeypatch.setenv("ALPHAFORGE_OPENAI_MODEL", "gpt-local")
    monkeypatch.setenv("ALPHAFORGE_OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("ALPHAFORGE_GEMINI_API_KEY", keys["gemini"])
    monkeypatch.setenv("ALPHAFORGE_GEMINI_MODEL", "gemini-local")
    monkeypatch.setenv("ALPHAFORGE_GEMINI_BASE_URL", server.base_url)
    monkeypatch.setenv("ALPHAFORGE_GEMINI_PRICE_PROMPT_PER_1K", "2.0")
    monkeypatch.setenv("ALPHAFORGE_LLM_PROVIDER_ORDER", "gemini, openai")
    monkeypatch.setenv("ALPHAFORGE_LLM_TIMEOUT_S", "0.3")
    settings = LLMSettings()
    providers = settings.providers()
    assert [p.name for p in providers] == ["gemini", "openai"]
    assert providers[0].price_prompt_per_1k == 2.0
    assert keys["gemini"] not in repr(settings) and keys["gemini"] not in repr(providers)
    reply = LLMRouter.from_settings(settings, metrics=metrics).complete("hi")
    assert reply.provider == "gemini" and reply.cost_usd == pytest.approx(1 * 2.0 / 1000)


def test_key_without_model_and_unknown_provider_are_config_errors(monkeypatch):
    monkeypatch.setenv("ALPHAFORGE_DEEPSEEK_API_KEY", "sk-x-123456")
    with pytest.raises(LLMConfigError, match="ALPHAFORGE_DEEPSEEK_MODEL"):
        LLMSettings().providers()
    with pytest.raises(LLMConfigError, match="unknown provider"):
        LLMSettings(llm_provider_order="openai,mistral").providers()
    with pytest.raises(LLMConfigError, match="base_url"):
        ProviderConfig("openai", "ftp://x", SecretStr("sk-1234"), "m")
    twin = ProviderConfig("openai", "http://127.0.0.1:9/v1", SecretStr("sk-1234"), "m")
    with pytest.raises(LLMConfigError, match="unique"):
        LLMRouter([twin, twin])


def test_bad_prompt_is_refused_before_any_call(make_router, server):
    router = make_router()
    with pytest.raises(PromptInputError):
        router.complete("   ")
    with pytest.raises(PromptInputError):
        router.complete([{"content": "no role"}])
    assert server.calls() == 0
