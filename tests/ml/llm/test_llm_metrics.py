"""Prometheus export, the hit-rate function, and usage logged to an MLflow run."""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest

from ml.llm.errors import UsageLoggingError
from ml.llm.metrics import Usage, cache_hit_rate, log_usage_to_mlflow


def test_prometheus_exposition_has_every_counter(make_router, metrics):
    router = make_router(prices=(1.0, 1.0))
    router.complete("a")
    router.complete("a")
    text = generate_latest(metrics.registry).decode()
    for line in (
        'alphaforge_llm_requests_total{outcome="ok",provider="openai"} 1.0',
        'alphaforge_llm_tokens_total{kind="prompt",model="gpt-local",provider="openai"} 1.0',
        "alphaforge_llm_cache_hits_total 1.0",
        "alphaforge_llm_cache_misses_total 1.0",
    ):
        assert line in text
    assert "alphaforge_llm_cost_usd_total" in text
    assert cache_hit_rate(metrics) == 0.5


def test_usage_is_logged_to_the_active_mlflow_run(make_router, tmp_path, monkeypatch):
    import mlflow  # a pinned dependency; imported here because it is slow to import

    # The helper only needs an active run; the file store avoids sqlite's ~7 s of migrations.
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    router = make_router(prices=(2.0, 4.0))
    router.complete("first")
    router.complete("first")
    router.complete("second")
    mlflow.set_tracking_uri(f"file://{tmp_path}/mlruns")
    mlflow.set_experiment("llm-usage")  # not an experiment id cached from another store
    try:
        with mlflow.start_run() as run:
            logged = log_usage_to_mlflow(router.usage)
        stored = mlflow.MlflowClient().get_run(run.info.run_id).data.metrics
    finally:
        mlflow.set_tracking_uri(None)
    assert stored == logged
    assert stored["llm_requests"] == 2 and stored["llm_cache_hits"] == 1
    assert stored["llm_total_tokens"] == router.usage.total_tokens
    assert stored["llm_cost_usd"] == pytest.approx(router.usage.cost_usd)
    assert router.usage.cost_usd > 0


def test_logging_usage_without_a_run_is_a_clear_error():
    with pytest.raises(UsageLoggingError, match="active MLflow run"):
        log_usage_to_mlflow(Usage(prompt_tokens=1))
