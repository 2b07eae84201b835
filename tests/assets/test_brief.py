"""The ``market_brief`` asset: written from the day's stored bars, features, the champion's
signals and its out-of-sample figures, by the real openai client against a local
OpenAI-compatible server; skipped, not failed, without a provider."""

import dagster as dg
import pytest

from assets.brief import LLMResource, llm_resource_from_env, market_brief
from assets.resources import MarketDataResource, MLflowResource
from tests.support.openai_server import LocalOpenAICompatServer
from tests.support.pipeline import instance_with_days

DAY = "2019-02-05"
PARTITION = dg.MultiPartitionKey({"date": DAY, "group": "fx"})
KEY = "sk-brief-" + "x" * 24


@pytest.fixture
def server():
    with LocalOpenAICompatServer(slow_s=1.0) as srv:
        yield srv


@pytest.fixture(autouse=True)
def no_llm_env(monkeypatch):
    for p in ("OPENAI", "DEEPSEEK", "GEMINI"):
        for f in ("API_KEY", "BASE_URL", "MODEL"):
            monkeypatch.delenv(f"ALPHAFORGE_{p}_{f}", raising=False)


def _resources(pipeline_dir, llm):
    return {"llm": llm, "market": MarketDataResource(data_dir=str(pipeline_dir)),
            "mlflow_server": MLflowResource(tracking_uri=f"sqlite:///{pipeline_dir / 'mlflow.db'}")}


def test_brief_is_written_from_stored_data_and_the_champion(pipeline_dir, server, tmp_path):
    llm = LLMResource(openai_api_key=KEY, openai_base_url=server.base_url, openai_model="gpt-local",
                      timeout_s=2.0)
    run_config = {"ops": {"market_brief": {"config": {"output_dir": str(tmp_path / "out")}}}}
    result = dg.materialize([market_brief], partition_key=PARTITION, instance=instance_with_days(DAY),
                            resources=_resources(pipeline_dir, llm), run_config=run_config)
    brief = result.output_for_node("market_brief")
    assert brief.startswith("# Market brief: fx (2019-02-05)")
    assert (tmp_path / "out" / "2019-02-05" / "fx.md").read_text() == brief
    prompt = server.requests[0]["body"]["messages"][1]["content"]
    assert "EURUSD" in prompt and "prob_up" in prompt and "sharpe" in prompt  # all four inputs
    meta = result.asset_materializations_for_node("market_brief")[0].metadata
    assert meta["symbols"].value == ["EURUSD"] and meta["tokens"].value > 0


def test_brief_is_skipped_without_a_provider(pipeline_dir, server):
    result = dg.materialize([market_brief], partition_key=PARTITION, instance=instance_with_days(DAY),
                            resources=_resources(pipeline_dir, llm_resource_from_env()))
    assert result.success and result.asset_materializations_for_node("market_brief") == []
    obs = [e.asset_observation_data.asset_observation for e in result.all_events
           if e.event_type_value == "ASSET_OBSERVATION"]
    assert obs[0].metadata["status"].value == "skipped"
    assert server.calls() == 0
