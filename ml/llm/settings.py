"""LLM configuration from the environment (``ALPHAFORGE_*``), and the providers it yields.

No model id is hard-wired: a provider is used only when both its key and its model id are set
(providers retire model ids, so they belong in configuration). Keys are ``SecretStr``, so a
settings object printed or logged shows ``**********``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ml.llm.errors import LLMConfigError

KNOWN_PROVIDERS = ("openai", "deepseek", "gemini")


@dataclass(frozen=True)
class ProviderConfig:
    """One OpenAI-compatible endpoint: where, with which key and model, at what price."""

    name: str
    base_url: str
    api_key: SecretStr = field(repr=False)
    model: str
    price_prompt_per_1k: float = 0.0
    price_completion_per_1k: float = 0.0

    def __post_init__(self) -> None:
        if not self.api_key.get_secret_value():
            raise LLMConfigError(f"provider {self.name!r}: empty API key")
        if not self.model:
            raise LLMConfigError(f"provider {self.name!r}: no model id configured")
        if not self.base_url.startswith(("http://", "https://")):
            raise LLMConfigError(f"provider {self.name!r}: base_url must be http(s), "
                                 f"got {self.base_url!r}")
        if self.price_prompt_per_1k < 0 or self.price_completion_per_1k < 0:
            raise LLMConfigError(f"provider {self.name!r}: prices must be >= 0")

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """USD cost of one call from the configured prices per 1k tokens."""
        return (prompt_tokens * self.price_prompt_per_1k
                + completion_tokens * self.price_completion_per_1k) / 1000.0


class LLMSettings(BaseSettings):
    """Every LLM knob, read from ``ALPHAFORGE_<FIELD>`` environment variables (or .env)."""

    model_config = SettingsConfigDict(env_prefix="ALPHAFORGE_", env_file=None, extra="ignore")

    openai_api_key: SecretStr | None = None
    openai_base_url: str = "https://api.openai.com/v1"
    openai_model: str | None = None
    openai_price_prompt_per_1k: float = 0.0
    openai_price_completion_per_1k: float = 0.0

    deepseek_api_key: SecretStr | None = None
    deepseek_base_url: str = "https://api.deepseek.com"
    deepseek_model: str | None = None
    deepseek_price_prompt_per_1k: float = 0.0
    deepseek_price_completion_per_1k: float = 0.0

    gemini_api_key: SecretStr | None = None
    gemini_base_url: str = "https://generativelanguage.googleapis.com/v1beta/openai/"
    gemini_model: str | None = None
    gemini_price_prompt_per_1k: float = 0.0
    gemini_price_completion_per_1k: float = 0.0

    llm_provider_order: str = "openai,deepseek,gemini"  # fallback order, comma-separated
    llm_timeout_s: float = 30.0
    llm_max_retries: int = 2  # per provider, on 429 and 5xx
    llm_backoff_s: float = 0.5  # first retry delay; doubles each retry
    llm_backoff_max_s: float = 8.0
    llm_cache_ttl_s: float = 3600.0
    llm_redis_url: str | None = None  # e.g. redis://127.0.0.1:6379/0; None = in-process cache
    llm_cache_prefix: str = "alphaforge:llm:"
    llm_user_token_budget: int | None = None  # tokens per user per UTC day
    llm_global_token_budget: int | None = None  # tokens for everyone per UTC day

    def providers(self) -> list[ProviderConfig]:
        """Configured providers in fallback order; empty when no key is set.

        Raises :class:`LLMConfigError` for a key without a model id, or an unknown name in
        ``llm_provider_order``.
        """
        order = [p.strip().lower() for p in self.llm_provider_order.split(",") if p.strip()]
        unknown = [p for p in order if p not in KNOWN_PROVIDERS]
        if unknown:
            raise LLMConfigError(f"unknown provider(s) in ALPHAFORGE_LLM_PROVIDER_ORDER: "
                                 f"{unknown}; known: {list(KNOWN_PROVIDERS)}")
        out = []
        for name in order:
            key: SecretStr | None = getattr(self, f"{name}_api_key")
            if key is None or not key.get_secret_value():
                continue
            model = getattr(self, f"{name}_model")
            if not model:
                raise LLMConfigError(f"ALPHAFORGE_{name.upper()}_API_KEY is set but "
                                     f"ALPHAFORGE_{name.upper()}_MODEL is not: set the model id")
            out.append(ProviderConfig(
                name=name, base_url=getattr(self, f"{name}_base_url"), api_key=key, model=model,
                price_prompt_per_1k=getattr(self, f"{name}_price_prompt_per_1k"),
                price_completion_per_1k=getattr(self, f"{name}_price_completion_per_1k"),
            ))
        return out
