"""The daily ``market_brief`` asset: one LLM-written markdown brief per (day, symbol group).

Optional by design: with no LLM provider configured the asset is *skipped* (no output, an
observation with the reason, a warning in the run log), never failed. Inputs come through
:func:`load_brief_inputs`, a plain function the orchestration layer may swap for store queries.
"""

# No `from __future__ import annotations`: Dagster resolves Config/resource annotations at
# decoration time and cannot resolve them from strings.
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from marketdata.instruments import CATALOGUE
from ml.llm.brief import generate_market_brief
from ml.llm.errors import PromptInputError
from ml.llm.router import NO_PROVIDER_MESSAGE, LLMRouter
from ml.llm.settings import LLMSettings

SYMBOL_GROUPS: dict[str, list[str]] = {}
for _inst in CATALOGUE.values():
    SYMBOL_GROUPS.setdefault(_inst.asset_class, []).append(_inst.symbol)

brief_partitions = dg.MultiPartitionsDefinition({
    "date": dg.DailyPartitionsDefinition(start_date="2024-01-01"),
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
    """Where inputs are read from and where the markdown brief is also written (optional)."""

    inputs_dir: str = "data/brief_inputs"
    output_dir: str | None = None


@dataclass(frozen=True)
class BriefInputs:
    """The four tables the brief is written from."""

    bars_summary: Any
    features_summary: Any
    signals: Any
    backtest_figures: Any


def load_brief_inputs(symbol_group: str, day: str, inputs_dir: str | Path) -> BriefInputs:
    """Read ``<inputs_dir>/<day>/<symbol_group>.json`` with the keys ``bars_summary``,
    ``features_summary``, ``signals``, ``backtest_figures`` (shapes: see build_brief_prompt)."""
    path = Path(inputs_dir) / day / f"{symbol_group}.json"
    if not path.is_file():
        raise PromptInputError(f"brief inputs not found: {path}")
    data = json.loads(path.read_text())
    missing = [k for k in ("bars_summary", "signals") if k not in data]
    if missing:
        raise PromptInputError(f"{path}: missing keys {missing}")
    return BriefInputs(data["bars_summary"], data.get("features_summary"), data["signals"],
                       data.get("backtest_figures"))


@dg.asset(partitions_def=brief_partitions, group_name="llm", output_required=False,
          retry_policy=dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL))
def market_brief(context: dg.AssetExecutionContext, llm: LLMResource, config: MarketBriefConfig):
    """Daily markdown brief per symbol group; skipped (not failed) when no LLM is configured."""
    keys = context.partition_key.keys_by_dimension
    day, group = keys["date"], keys["group"]
    router = llm.build_router()
    if not router.available:
        context.log.warning("market_brief %s/%s skipped: %s", day, group, NO_PROVIDER_MESSAGE)
        context.log_event(dg.AssetObservation(
            asset_key=context.asset_key, partition=context.partition_key,
            metadata={"status": "skipped", "reason": NO_PROVIDER_MESSAGE}))
        return
    inputs = load_brief_inputs(group, day, config.inputs_dir)
    markdown = generate_market_brief(router, group, inputs.bars_summary, inputs.features_summary,
                                     inputs.signals, inputs.backtest_figures, day=day)
    metadata: dict[str, Any] = {
        "brief": dg.MetadataValue.md(markdown),
        "symbols": dg.MetadataValue.json(SYMBOL_GROUPS.get(group, [])),
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
