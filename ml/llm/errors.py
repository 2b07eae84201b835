"""The LLM exception hierarchy: every error ``ml.llm`` raises derives from :class:`LLMError`.

Messages never carry an API key: provider errors are rebuilt from masked text (see
``ml.llm.masking``) and raised outside the ``except`` block, so no unmasked exception hangs
on ``__context__`` either.
"""

from __future__ import annotations


class LLMError(Exception):
    """Base class for LLM routing errors."""


class LLMConfigError(LLMError, ValueError):
    """The LLM configuration is incomplete or contradictory (e.g. a key without a model id)."""


class LLMUnavailable(LLMError):
    """No provider can answer: none is configured, or every configured one failed.

    The realtime tier maps this to HTTP 503; trading never depends on it.
    """


class AllProvidersFailed(LLMUnavailable):
    """Every configured provider failed for one request (after retries and fallback)."""

    def __init__(self, failures: list[str]):
        self.failures = list(failures)
        super().__init__("all LLM providers failed: " + "; ".join(self.failures))


class ProviderError(LLMError):
    """One provider failed one attempt; ``kind`` is rate_limited, server_error, timeout, ..."""

    def __init__(self, provider: str, kind: str, message: str, status: int | None = None,
                 retry_after: float | None = None):
        self.provider = provider
        self.kind = kind
        self.status = status
        self.retry_after = retry_after  # seconds, from a Retry-After header when one was sent
        super().__init__(f"{provider}: {kind}: {message}")


class BudgetExceeded(LLMError):
    """A request would take a user (or the whole platform) past its token budget."""

    def __init__(self, scope: str, used: int, requested: int, limit: int):
        self.scope = scope
        self.used = used
        self.requested = requested
        self.limit = limit
        super().__init__(
            f"token budget exceeded for {scope}: {used} used + {requested} requested "
            f"> limit {limit} (resets at 00:00 UTC)"
        )


class PromptInputError(LLMError, ValueError):
    """Inputs for a prompt (brief, explanation) are missing or malformed."""


class UsageLoggingError(LLMError):
    """Usage could not be logged (e.g. no active MLflow run)."""
