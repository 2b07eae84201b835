"""One router over OpenAI-compatible providers (OpenAI, DeepSeek, Gemini), via the openai client.

Per request: cache lookup -> budget check -> providers in order, each with retries and
exponential backoff on 429/5xx; a timeout, connection error, rejection (4xx) or malformed answer
moves on to the next provider at once. Retries are ours (the client's are off) so that every
attempt is counted in the metrics. One attempt, and the masking of its failure, lives in
``ml.llm.providers``.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ml.llm.budget import TokenBudget, estimate_tokens, make_budget
from ml.llm.cache import InProcessCache, RedisCache, ResponseCache, cache_key
from ml.llm.errors import (
    AllProvidersFailed,
    BudgetExceeded,
    LLMConfigError,
    LLMUnavailable,
    PromptInputError,
)
from ml.llm.masking import install_masking_filter, mask
from ml.llm.metrics import LLMMetrics, Usage, default_metrics
from ml.llm.providers import RETRYABLE, LLMResponse, attempt, build_client
from ml.llm.settings import LLMSettings, ProviderConfig

logger = logging.getLogger(__name__)

NO_PROVIDER_MESSAGE = (
    "no LLM provider is configured: set ALPHAFORGE_OPENAI_API_KEY and ALPHAFORGE_OPENAI_MODEL "
    "(or the DEEPSEEK / GEMINI equivalents)"
)


def _as_messages(prompt: str | Sequence[Mapping[str, str]], system: str | None) -> list[dict]:
    if isinstance(prompt, str):
        if not prompt.strip():
            raise PromptInputError("empty prompt")
        messages = [{"role": "user", "content": prompt}]
    else:
        messages = [dict(m) for m in prompt]
        if not messages or any("role" not in m or "content" not in m for m in messages):
            raise PromptInputError("messages must be a non-empty list of {role, content} dicts")
    if system:
        messages.insert(0, {"role": "system", "content": system})
    return messages


class LLMRouter:
    """Routes chat completions across providers with cache, budgets, retries and metrics."""

    def __init__(self, providers: Sequence[ProviderConfig], *, timeout_s: float = 30.0,
                 max_retries: int = 2, backoff_s: float = 0.5, backoff_max_s: float = 8.0,
                 cache: ResponseCache | None = None, cache_ttl_s: float = 3600.0,
                 budget: TokenBudget | None = None, metrics: LLMMetrics | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        if timeout_s <= 0 or max_retries < 0 or backoff_s < 0:
            raise ValueError("timeout_s must be > 0, max_retries and backoff_s >= 0")
        self.providers = list(providers)
        names = [p.name for p in self.providers]
        if len(set(names)) != len(names):
            raise LLMConfigError(f"provider names must be unique, got {names}")
        self.max_retries = max_retries
        self.backoff_s, self.backoff_max_s = backoff_s, backoff_max_s
        self.cache = cache if cache is not None else InProcessCache()
        self.cache_ttl_s = cache_ttl_s
        self.budget = budget or TokenBudget()
        self.metrics = metrics or default_metrics()
        self.usage = Usage()
        self._sleep = sleep
        self._lock = threading.Lock()
        self._secrets = [p.api_key.get_secret_value() for p in self.providers]
        install_masking_filter(self._secrets)
        self._clients = {p.name: build_client(p, timeout_s) for p in self.providers}

    @classmethod
    def from_settings(cls, settings: LLMSettings | None = None, **overrides: Any) -> LLMRouter:
        """Build from ``ALPHAFORGE_*`` settings; ``overrides`` replace constructor arguments."""
        s = settings or LLMSettings()
        kwargs: dict[str, Any] = dict(
            timeout_s=s.llm_timeout_s, max_retries=s.llm_max_retries, backoff_s=s.llm_backoff_s,
            backoff_max_s=s.llm_backoff_max_s, cache_ttl_s=s.llm_cache_ttl_s,
            budget=make_budget(s.llm_user_token_budget, s.llm_global_token_budget, s.llm_redis_url,
                               f"{s.llm_cache_prefix}budget:"),
            cache=RedisCache(s.llm_redis_url, s.llm_cache_prefix) if s.llm_redis_url else None,
        )
        kwargs.update(overrides)
        return cls(s.providers(), **kwargs)

    @property
    def available(self) -> bool:
        """True when at least one provider is configured."""
        return bool(self.providers)

    def mask(self, text: str) -> str:
        """``text`` with every configured API key replaced by ``***``."""
        return mask(text, self._secrets)

    def complete(self, prompt: str | Sequence[Mapping[str, str]], *, user: str | None = None,
                 system: str | None = None, max_tokens: int | None = None,
                 temperature: float = 0.0, use_cache: bool = True) -> LLMResponse:
        """Answer ``prompt`` (a string or chat messages) from the first provider that can.

        Raises :class:`LLMUnavailable` (no provider, or all failed: ``AllProvidersFailed``),
        :class:`BudgetExceeded`, or :class:`PromptInputError`.
        """
        if not self.providers:
            self.metrics.requests.labels("router", "unavailable").inc()
            raise LLMUnavailable(NO_PROVIDER_MESSAGE)
        messages = _as_messages(prompt, system)
        params: dict[str, Any] = {"temperature": temperature}
        if max_tokens is not None:
            params["max_tokens"] = max_tokens
        if use_cache:
            hit = self._cache_lookup(messages, params)
            if hit is not None:
                return hit
        try:
            self.budget.check(user, estimate_tokens(json.dumps(messages), max_tokens))
        except BudgetExceeded:
            self.metrics.requests.labels("router", "budget_refused").inc()
            raise
        failures: list[str] = []
        for provider in self.providers:
            result = self._try_provider(provider, messages, params, failures)
            if result is not None:
                self._account(provider, result, user)
                if use_cache:
                    self.cache.set(cache_key(provider.name, provider.model, messages, params),
                                   {"text": result.text, "prompt_tokens": result.prompt_tokens,
                                    "completion_tokens": result.completion_tokens},
                                   self.cache_ttl_s)
                return result
        raise AllProvidersFailed(failures)

    def _cache_lookup(self, messages: list[dict], params: dict[str, Any]) -> LLMResponse | None:
        for provider in self.providers:
            entry = self.cache.get(cache_key(provider.name, provider.model, messages, params))
            if entry is not None:
                self.metrics.cache_hits.inc()
                with self._lock:
                    self.usage.cache_hits += 1
                logger.debug("llm cache hit (%s/%s)", provider.name, provider.model)
                return LLMResponse(text=entry["text"], provider=provider.name,
                                   model=provider.model, prompt_tokens=entry["prompt_tokens"],
                                   completion_tokens=entry["completion_tokens"], cost_usd=0.0,
                                   cached=True)
        self.metrics.cache_misses.inc()
        with self._lock:
            self.usage.cache_misses += 1
        return None

    def _try_provider(self, provider: ProviderConfig, messages: list[dict],
                      params: dict[str, Any], failures: list[str]) -> LLMResponse | None:
        for retry in range(self.max_retries + 1):
            outcome = attempt(self._clients[provider.name], provider, messages, params,
                              self._secrets)
            if isinstance(outcome, LLMResponse):
                self.metrics.requests.labels(provider.name, "ok").inc()
                return outcome
            self.metrics.requests.labels(provider.name, outcome.kind).inc()
            if outcome.kind in RETRYABLE and retry < self.max_retries:
                delay = self._backoff(retry, outcome.retry_after)
                logger.warning("%s; retry %d of %d in %.2fs", outcome, retry + 1,
                               self.max_retries, delay)
                self._sleep(delay)
                continue
            logger.warning("%s; falling back to the next provider", outcome)
            failures.append(str(outcome))
            return None
        return None  # unreachable: the loop always returns

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.backoff_max_s)
        base = min(self.backoff_max_s, self.backoff_s * (2 ** attempt))
        return base * (0.5 + random.random() / 2)  # jitter keeps replicas from retrying in step

    def _account(self, provider: ProviderConfig, result: LLMResponse, user: str | None) -> None:
        m = self.metrics
        m.tokens.labels(provider.name, provider.model, "prompt").inc(result.prompt_tokens)
        m.tokens.labels(provider.name, provider.model, "completion").inc(result.completion_tokens)
        m.cost.labels(provider.name, provider.model).inc(result.cost_usd)
        self.budget.record(user, result.total_tokens)
        with self._lock:
            self.usage.prompt_tokens += result.prompt_tokens
            self.usage.completion_tokens += result.completion_tokens
            self.usage.cost_usd += result.cost_usd
            self.usage.requests += 1
        logger.info("llm answer from %s/%s: %d tokens, $%.6f", provider.name, provider.model,
                    result.total_tokens, result.cost_usd)
