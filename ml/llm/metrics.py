"""Prometheus metrics for LLM calls, plus the usage tally that goes to MLflow in batch runs.

One :class:`LLMMetrics` per registry: the module-level default registers on prometheus'
global ``REGISTRY`` (what realtime's ``/metrics`` exports); tests pass their own registry.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass

from prometheus_client import REGISTRY, CollectorRegistry, Counter

from ml.llm.errors import UsageLoggingError


class LLMMetrics:
    """Counters for tokens, cost, requests by provider/outcome, and cache hits/misses."""

    def __init__(self, registry: CollectorRegistry = REGISTRY, namespace: str = "alphaforge"):
        self.registry = registry
        self.tokens = Counter("llm_tokens", "LLM tokens used", ["provider", "model", "kind"],
                              namespace=namespace, registry=registry)
        self.cost = Counter("llm_cost_usd", "LLM cost in USD, from configured prices per 1k tokens",
                            ["provider", "model"], namespace=namespace, registry=registry)
        self.requests = Counter("llm_requests", "LLM HTTP attempts by provider and outcome",
                                ["provider", "outcome"], namespace=namespace, registry=registry)
        self.cache_hits = Counter("llm_cache_hits", "LLM response cache hits",
                                  namespace=namespace, registry=registry)
        self.cache_misses = Counter("llm_cache_misses", "LLM response cache misses",
                                    namespace=namespace, registry=registry)
        self._namespace = namespace

    def sample(self, name: str, labels: dict[str, str] | None = None) -> float:
        """Current value of a counter sample, e.g. ``sample("llm_cache_hits_total")``."""
        value = self.registry.get_sample_value(f"{self._namespace}_{name}", labels or {})
        return 0.0 if value is None else value


_default: LLMMetrics | None = None
_default_lock = threading.Lock()


def default_metrics() -> LLMMetrics:
    """The process-wide metrics on prometheus' global registry (created on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = LLMMetrics()
        return _default


def cache_hit_rate(metrics: LLMMetrics | None = None) -> float:
    """Hits / (hits + misses) since start; 0.0 before any lookup."""
    m = metrics or default_metrics()
    hits, misses = m.sample("llm_cache_hits_total"), m.sample("llm_cache_misses_total")
    return hits / (hits + misses) if hits + misses else 0.0


@dataclass
class Usage:
    """Tokens, cost and call counts accumulated by one router (or one batch job)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    requests: int = 0
    cache_hits: int = 0
    cache_misses: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def as_metrics(self) -> dict[str, float]:
        """Flat ``llm_*`` metric names and values, as logged to MLflow."""
        out = {f"llm_{k}": float(v) for k, v in asdict(self).items()}
        out["llm_total_tokens"] = float(self.total_tokens)
        return out


def log_usage_to_mlflow(usage: Usage, step: int | None = None) -> dict[str, float]:
    """Log ``usage`` as metrics in the active MLflow run; returns what was logged.

    Raises :class:`UsageLoggingError` when no run is active, rather than letting MLflow
    silently start a stray run.
    """
    import mlflow  # heavy; only batch code calls this

    if mlflow.active_run() is None:
        raise UsageLoggingError("log_usage_to_mlflow needs an active MLflow run "
                                "(wrap the batch in `with mlflow.start_run():`)")
    values = usage.as_metrics()
    mlflow.log_metrics(values, step=step)
    return values
