"""explain_signal: deterministic feature ranking plus an LLM rationale from the local server."""

from __future__ import annotations

import pytest

from ml.llm.errors import LLMUnavailable, PromptInputError
from ml.llm.explain import EXPLAIN_SYSTEM_PROMPT, explain_signal, rank_features
from ml.llm.router import LLMRouter

FEATURES = {"ret_1": 0.8, "ret_5": -2.1, "vol_20": 1.4, "rsi_14": 0.3, "spread_z": -0.2,
            "hour_sin": 0.05}
CONTRIBUTIONS = {"ret_1": 0.9, "ret_5": -0.1, "vol_20": 0.02, "rsi_14": -0.6, "spread_z": 0.0,
                 "hour_sin": 0.3}


def test_rank_by_abs_z_without_contributions():
    top = rank_features({"direction": "long"}, FEATURES, top_k=3)
    assert [r["name"] for r in top] == ["ret_5", "vol_20", "ret_1"]
    assert {r["basis"] for r in top} == {"z"} and top[0]["score"] == 2.1


def test_rank_by_abs_contribution_when_the_signal_carries_them():
    top = rank_features({"contributions": CONTRIBUTIONS}, FEATURES, top_k=3)
    assert [r["name"] for r in top] == ["ret_1", "rsi_14", "hour_sin"]
    assert top[1]["contribution"] == -0.6 and top[1]["basis"] == "contribution"


def test_rank_uses_explicit_z_and_breaks_ties_by_name():
    feats = {"b": {"value": 105.0, "z": 1.0}, "a": {"value": -3.0, "z": -1.0}, "c": 0.5}
    assert [r["name"] for r in rank_features({}, feats, top_k=5)] == ["a", "b", "c"]


def test_explain_signal_against_the_server(make_router, server):
    signal = {"direction": "long", "probabilities": {"down": 0.2, "flat": 0.15, "up": 0.65},
              "contributions": CONTRIBUTIONS, "model": "signal_model@champion",
              "bar_time": "2024-01-02T10:15:00Z"}
    out = explain_signal(make_router(), "EURUSD", signal, FEATURES, top_k=2, user="key-42")
    assert out["symbol"] == "EURUSD" and out["direction"] == "long"
    assert out["confidence"] == 0.65 and out["probabilities"]["flat"] == 0.15
    assert [f["name"] for f in out["top_features"]] == ["ret_1", "rsi_14"]
    assert out["rationale"].startswith("[gpt-local] answer to: Symbol: EURUSD.")
    assert out["provider"] == "openai" and out["tokens"] > 0 and not out["cached"]
    messages = server.requests[0]["body"]["messages"]
    assert messages[0]["content"] == EXPLAIN_SYSTEM_PROMPT
    prompt = messages[1]["content"]
    assert "Signal: long. Class probabilities: down=0.2, flat=0.15, up=0.65." in prompt
    assert "ranked by |contribution|" in prompt
    assert "| ret_1 | 0.8 | 0.8 | 0.9 |" in prompt and "vol_20" not in prompt


def test_explain_signal_with_single_probability(make_router):
    out = explain_signal(make_router(), "XAUUSD", {"side": "SHORT", "probability": 0.3},
                         {"ret_1": -1.0})
    assert out["direction"] == "short" and out["probabilities"] == {"up": 0.3, "down": 0.7}


@pytest.mark.parametrize("signal,features,match", [
    ({"direction": "buy", "probability": 0.5}, FEATURES, "direction"),
    ({"direction": "long", "probability": 1.5}, FEATURES, r"\[0, 1\]"),
    ({"direction": "long"}, FEATURES, "probabilities"),
    ({"direction": "long", "probability": 0.6}, {}, "features is empty"),
    ({"direction": "long", "probability": 0.6}, {"x": "high"}, "must be a number"),
    ({"direction": "long", "probability": 0.6}, {"x": float("inf")}, "finite"),
])
def test_bad_inputs_are_refused_before_any_call(make_router, server, signal, features, match):
    with pytest.raises(PromptInputError, match=match):
        explain_signal(make_router(), "EURUSD", signal, features)
    assert server.calls() == 0


def test_top_k_must_be_positive(make_router):
    with pytest.raises(PromptInputError, match="top_k"):
        explain_signal(make_router(), "EURUSD", {"direction": "flat", "probability": 0.5},
                       FEATURES, top_k=0)


def test_explain_without_provider_is_unavailable(metrics):
    with pytest.raises(LLMUnavailable):
        explain_signal(LLMRouter([], metrics=metrics), "EURUSD",
                       {"direction": "long", "probability": 0.6}, FEATURES)
