"""One HTTP attempt against one OpenAI-compatible provider, through the official openai client.

:func:`attempt` never raises for a provider failure: it *returns* a :class:`ProviderError`
whose text is masked, built outside any ``except`` block of the router, so the original openai
exception (whose message may echo the key) is neither logged nor chained.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

import openai

from ml.llm.errors import ProviderError
from ml.llm.masking import mask
from ml.llm.settings import ProviderConfig

RETRYABLE = frozenset({"rate_limited", "server_error"})  # 429 and 5xx


@dataclass(frozen=True)
class LLMResponse:
    """One answer: its text, who gave it, and what it cost (zero cost when ``cached``)."""

    text: str
    provider: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    cached: bool = False

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


def build_client(provider: ProviderConfig, timeout_s: float) -> openai.OpenAI:
    """An openai client for ``provider`` with the client's own retries off (the router's
    retries are counted in the metrics) and a short connect timeout."""
    return openai.OpenAI(api_key=provider.api_key.get_secret_value(), base_url=provider.base_url,
                         timeout=openai.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
                         max_retries=0)


def parse_completion(provider: ProviderConfig, raw: Any) -> LLMResponse:
    """Text and usage from a chat completion; ValueError when there is no usable content."""
    if not getattr(raw, "choices", None):
        raise ValueError("response has no choices")
    text = raw.choices[0].message.content
    if not isinstance(text, str) or not text.strip():
        raise ValueError("response has no message content")
    usage = raw.usage
    prompt_tokens = int(usage.prompt_tokens) if usage else 0
    completion_tokens = int(usage.completion_tokens) if usage else 0
    return LLMResponse(text=text, provider=provider.name, model=provider.model,
                       prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                       cost_usd=provider.cost(prompt_tokens, completion_tokens))


def attempt(client: openai.OpenAI, provider: ProviderConfig, messages: list[dict],
            params: dict[str, Any], secrets: Iterable[str]) -> LLMResponse | ProviderError:
    """One call. Failure kinds: rate_limited, server_error (retryable); timeout, connection,
    rejected (other 4xx), malformed (bad JSON, no choices), error (anything else)."""
    try:
        raw = client.chat.completions.create(model=provider.model,
                                             messages=cast(Any, messages), **params)
        return parse_completion(provider, raw)
    except openai.RateLimitError as exc:
        return _failure(provider, "rate_limited", exc, secrets, exc.status_code,
                        exc.response.headers.get("retry-after"))
    except openai.APITimeoutError as exc:  # before APIConnectionError, its parent
        return _failure(provider, "timeout", exc, secrets)
    except openai.APIConnectionError as exc:
        return _failure(provider, "connection", exc, secrets)
    except openai.APIStatusError as exc:
        kind = "server_error" if exc.status_code >= 500 else "rejected"
        return _failure(provider, kind, exc, secrets, exc.status_code)
    except (openai.APIResponseValidationError, ValueError, TypeError, AttributeError,
            KeyError, IndexError) as exc:  # bad JSON, or a body without choices/content
        return _failure(provider, "malformed", exc, secrets)
    except Exception as exc:  # anything else from the client: still never unmasked
        return _failure(provider, "error", exc, secrets)


def _failure(provider: ProviderConfig, kind: str, exc: BaseException, secrets: Iterable[str],
             status: int | None = None, retry_after: str | None = None) -> ProviderError:
    try:
        seconds = float(retry_after) if retry_after else None
    except ValueError:  # an HTTP-date Retry-After: the router's own backoff applies
        seconds = None
    return ProviderError(provider.name, kind, mask(f"{type(exc).__name__}: {exc}", secrets),
                         status, seconds)
