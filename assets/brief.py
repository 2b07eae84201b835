"""The daily ``market_brief`` asset: one LLM-written markdown brief per (day, symbol group).

Optional by design: with no LLM provider configured the asset is *skipped* (no output, an
observation with the reason, a warning in the run log), never failed. Inputs come from the
store and the registry through :func:`ml.brief_inputs.collect_brief_inputs`.
"""

# No `from __future__ import annotations`: Dagster resolves Config/resource annotations at
# decoration time and cannot resolve them from strings.
import datetime as dt
import os
from pathlib import Path
from typing import Any

import dagster as dg

from assets.partitions import configured_symbols, daily
from assets.resources import MarketDataResource, MLflowResource
from marketdata.instruments import CATALOGUE
from ml.brief_inputs import collect_brief_inputs
from ml.llm.brief import generate_market_brief
from ml.llm.router import NO_PROVIDER_MESSAGE, LLMRouter
from ml.llm.settings import LLMSettings
from ml.models import SignalModel
from ml.registry import CHAMPION, alias_version, load_registered

SYMBOL_GROUPS: dict[str, list[str]] = {}
for _inst in CATALOGUE.values():
    SYMBOL_GROUPS.setdefault(_inst.asset_class, []).append(_inst.symbol)

brief_partitions = dg.MultiPartitionsDefinition({
    "date": daily,
    "group": dg.StaticPartitionsDefinition(sorted(SYMBOL_GROUPS)),
})
_ENV = {  # resource field -> environment variable, shared with ml.llm.settings.LLMSettings
    f"{p}_{f}": f"ALPHAFORGE_{p.upper()}_{f.upper()}"
    for p in ("openai", "deepseek", "gemini") for f in ("api_key", "base_url", "model")
}


class LLMResource(dg.ConfigurableResource):
    """LLM providers for batch assets. Unset fields fall back to ``ALPHAFORGE_*`` variables;
    set secrets with ``dg.EnvVar`` so the UI shows the variable's name, never the key."""

    openai_api_key: str | None = None
    openai_base_url: str | None = None
    openai_model: str | None = None
    deepseek_api_key: str | None = None
    deepseek_base_url: str | None = None
    deepseek_model: str | None = None
    gemini_api_key: str | None = None
    gemini_base_url: str | None = None
    gemini_model: str | None = None
    timeout_s: float = 60.0
    max_retries: int = 2
    redis_url: str | None = None
    user_token_budget: int | None = None  # applies to the "batch:market_brief" user

    def build_router(self) -> LLMRouter:
        """A router over the configured providers (it may have none: check ``available``)."""
        values: dict[str, Any] = {k: getattr(self, k) for k in _ENV if getattr(self, k)}
        values.update(llm_timeout_s=self.timeout_s, llm_max_retries=self.max_retries)
        if self.redis_url:
            values["llm_redis_url"] = self.redis_url
        if self.user_token_budget:
            values["llm_user_token_budget"] = self.user_token_budget
        return LLMRouter.from_settings(LLMSettings(**values))


def llm_resource_from_env() -> LLMResource:
    """``LLMResource`` with ``dg.EnvVar`` for each ``ALPHAFORGE_*`` variable that is set
    (an ``EnvVar`` naming an unset variable would fail at load instead of skipping)."""
    fields: dict[str, Any] = {k: dg.EnvVar(v) for k, v in _ENV.items() if os.environ.get(v)}
    return LLMResource(**fields)


class MarketBriefConfig(dg.Config):
    """Where the markdown brief is also written (optional), besides Dagster metadata."""

    output_dir: str | None = None


def group_symbols(group: str) -> list[str]:
    """Configured symbols of one asset class."""
    return [s for s in configured_symbols() if s in CATALOGUE and CATALOGUE[s].asset_class == group]


def champion_and_figures(mlflow_server: MLflowResource) -> tuple[SignalModel | None, dict[str, Any]]:
    """The @champion model and its out-of-sample figures (oos.* tags); (None, {}) if none yet."""
    client = mlflow_server.activate()
    name = mlflow_server.registered_model
    version = alias_version(client, name, CHAMPION)
    if version is None:
        return None, {}
    tags = client.get_model_version(name, version).tags
    figures = {k.removeprefix("oos."): v for k, v in tags.items() if k.startswith("oos.")}
    model = load_registered(mlflow_server.tracking_uri, name, version=version).model
    return model, {"model_version": version, **figures}


@dg.asset(partitions_def=brief_partitions, group_name="llm", output_required=False, deps=["promotion"],
          retry_policy=dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL))
def market_brief(context: dg.AssetExecutionContext, llm: LLMResource, config: MarketBriefConfig,
                 market: MarketDataResource, mlflow_server: MLflowResource):
    """Daily markdown brief per symbol group from the day's bars, features, the champion's
    signals and backtest figures; skipped (not failed) when no LLM is configured."""
    keys = context.partition_key.keys_by_dimension
    day, group = keys["date"], keys["group"]
    router = llm.build_router()
    if not router.available:
        context.log.warning("market_brief %s/%s skipped: %s", day, group, NO_PROVIDER_MESSAGE)
        context.log_event(dg.AssetObservation(
            asset_key=context.asset_key, partition=context.partition_key,
            metadata={"status": "skipped", "reason": NO_PROVIDER_MESSAGE}))
        return
    model, figures = champion_and_figures(mlflow_server)
    inputs = collect_brief_inputs(market.store(), group_symbols(group), dt.date.fromisoformat(day),
                                  model, figures)
    markdown = generate_market_brief(router, group, inputs["bars_summary"], inputs["features_summary"],
                                     inputs["signals"], inputs["backtest_figures"], day=day)
    metadata: dict[str, Any] = {
        "brief": dg.MetadataValue.md(markdown),
        "symbols": dg.MetadataValue.json(sorted(inputs["bars_summary"])),
        "tokens": router.usage.prompt_tokens + router.usage.completion_tokens,
        "cost_usd": float(router.usage.cost_usd),
        "cached": router.usage.cache_hits > 0,
    }
    if config.output_dir:
        out = Path(config.output_dir) / day / f"{group}.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(markdown)
        metadata["path"] = dg.MetadataValue.path(str(out))
    yield dg.Output(markdown, metadata=metadata)
