"""LLM routing over OpenAI-compatible providers, and the features built on it.

``LLMRouter`` (router), ``LLMSettings`` (settings), the error hierarchy (errors), metrics and
usage (metrics), the market brief (brief) and signal explanations (explain).
"""

from ml.llm.errors import (
    AllProvidersFailed,
    BudgetExceeded,
    LLMConfigError,
    LLMError,
    LLMUnavailable,
    PromptInputError,
    ProviderError,
)
from ml.llm.metrics import LLMMetrics, Usage, cache_hit_rate, log_usage_to_mlflow
from ml.llm.providers import LLMResponse
from ml.llm.router import LLMRouter
from ml.llm.settings import LLMSettings, ProviderConfig

__all__ = [
    "AllProvidersFailed", "BudgetExceeded", "LLMConfigError", "LLMError", "LLMMetrics",
    "LLMResponse", "LLMRouter", "LLMSettings", "LLMUnavailable", "PromptInputError",
    "ProviderConfig", "ProviderError", "Usage", "cache_hit_rate", "log_usage_to_mlflow",
]
