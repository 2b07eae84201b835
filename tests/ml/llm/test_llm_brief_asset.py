"""The ``market_brief`` Dagster asset: materialised against the local server, skipped without
a provider. (Lives with the LLM tests; it may move to tests/assets/.)"""

from __future__ import annotations

import json

import dagster as dg
import pytest

from assets.brief import LLMResource, llm_resource_from_env, load_brief_inputs, market_brief
from ml.llm.errors import PromptInputError

PARTITION = dg.MultiPartitionKey({"date": "2024-01-02", "group": "fx"})
INPUTS = {
    "bars_summary": {"EURUSD": {"open": 1.0951, "close": 1.0987}},
    "features_summary": {"EURUSD": {"ret_1d": 0.0033}},
    "signals": [{"symbol": "EURUSD", "direction": "long", "p_up": 0.62}],
    "backtest_figures": {"oos_sharpe": 1.37},
}


@pytest.fixture
def inputs_dir(tmp_path):
    (tmp_path / "in" / "2024-01-02").mkdir(parents=True)
    (tmp_path / "in" / "2024-01-02" / "fx.json").write_text(json.dumps(INPUTS))
    return tmp_path / "in"


def run_config(inputs_dir, out_dir):
    return {"ops": {"market_brief": {"config": {"inputs_dir": str(inputs_dir),
                                                "output_dir": str(out_dir)}}}}


def test_asset_materialises_markdown_brief(server, keys, inputs_dir, tmp_path):
    llm = LLMResource(openai_api_key=keys["openai"], openai_base_url=server.base_url,
                      openai_model="gpt-local", timeout_s=0.3)
    result = dg.materialize([market_brief], partition_key=PARTITION, resources={"llm": llm},
                            run_config=run_config(inputs_dir, tmp_path / "out"))
    assert result.success
    brief = result.output_for_node("market_brief")
    assert brief.startswith("# Market brief: fx (2024-01-02)")
    assert "[gpt-local] answer to:" in brief
    assert (tmp_path / "out" / "2024-01-02" / "fx.md").read_text() == brief
    meta = result.asset_materializations_for_node("market_brief")[0].metadata
    assert meta["brief"] == dg.MetadataValue.md(brief)
    assert meta["tokens"].value > 0
    assert "EURUSD" in meta["symbols"].value
    assert "| EURUSD | 1.0951 | 1.0987 |" in server.requests[0]["body"]["messages"][1]["content"]


def test_asset_is_skipped_not_failed_without_provider(server, inputs_dir, tmp_path):
    result = dg.materialize([market_brief], partition_key=PARTITION,
                            resources={"llm": llm_resource_from_env()},
                            run_config=run_config(inputs_dir, tmp_path / "out"))
    assert result.success
    assert result.asset_materializations_for_node("market_brief") == []
    observations = [e.asset_observation_data.asset_observation
                    for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"]
    assert observations[0].metadata["status"].value == "skipped"
    assert "no LLM provider is configured" in observations[0].metadata["reason"].value
    assert not (tmp_path / "out").exists() and server.calls() == 0


def test_missing_inputs_are_a_clear_error(tmp_path):
    with pytest.raises(PromptInputError, match="brief inputs not found"):
        load_brief_inputs("fx", "2024-01-02", tmp_path)


def test_resource_from_env_reads_alphaforge_variables(monkeypatch, server, keys, inputs_dir,
                                                      tmp_path):
    monkeypatch.setenv("ALPHAFORGE_GEMINI_API_KEY", keys["gemini"])
    monkeypatch.setenv("ALPHAFORGE_GEMINI_MODEL", "gemini-local")
    monkeypatch.setenv("ALPHAFORGE_GEMINI_BASE_URL", server.base_url)
    resource = llm_resource_from_env()
    assert isinstance(resource.gemini_api_key, dg.EnvVar)  # the UI shows the name, not the key
    result = dg.materialize([market_brief], partition_key=PARTITION, resources={"llm": resource},
                            run_config=run_config(inputs_dir, tmp_path / "out"))
    assert "[gemini-local] answer to:" in result.output_for_node("market_brief")
