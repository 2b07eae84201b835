"""Per-user and global daily token budgets: refusal before any call, with a clear error."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from ml.llm.budget import RedisTokenBudget, TokenBudget, estimate_tokens
from ml.llm.errors import BudgetExceeded

PROMPT = "Summarise the EURUSD session in one line"  # ~40 chars of prompt per request


def test_per_user_budget_refuses_one_user_only(make_router, server, metrics):
    router = make_router(budget=TokenBudget(per_user_limit=60))
    router.complete(PROMPT, user="alice", max_tokens=20)
    spent = router.budget.used("alice")
    assert spent == router.usage.total_tokens > 0
    with pytest.raises(BudgetExceeded, match="user 'alice'") as info:
        router.complete(PROMPT + " again", user="alice", max_tokens=40)
    assert info.value.used == spent and info.value.limit == 60
    assert "resets at 00:00 UTC" in str(info.value)
    assert server.calls() == 1  # refused before reaching any provider
    assert router.complete(PROMPT + " again", user="bob", max_tokens=40).provider == "openai"
    assert metrics.sample("llm_requests_total",
                          {"provider": "router", "outcome": "budget_refused"}) == 1


def test_global_budget_refuses_everyone(make_router, server):
    # each request is estimated at ~48 tokens (prompt chars / 4 + max_tokens) and spends ~18
    router = make_router(budget=TokenBudget(per_user_limit=10_000, global_limit=60))
    router.complete(PROMPT, user="alice", max_tokens=30)
    assert 60 - 48 < router.budget.used() < 60  # so the next estimate cannot fit
    with pytest.raises(BudgetExceeded, match="global"):
        router.complete(PROMPT + "?", user="bob", max_tokens=30)
    with pytest.raises(BudgetExceeded, match="global"):
        router.complete(PROMPT + "!", max_tokens=30)  # anonymous batch work counts too
    assert server.calls() == 1


def test_cache_hits_cost_no_budget(make_router, server):
    router = make_router(budget=TokenBudget(per_user_limit=60))
    router.complete(PROMPT, user="alice", max_tokens=20)
    for _ in range(5):
        assert router.complete(PROMPT, user="alice", max_tokens=20).cached
    assert server.calls() == 1


def test_budget_resets_each_utc_day():
    day = [dt.date(2024, 1, 2)]
    budget = TokenBudget(per_user_limit=100, today=lambda: day[0])
    budget.record("alice", 90)
    with pytest.raises(BudgetExceeded):
        budget.check("alice", 20)
    day[0] = dt.date(2024, 1, 3)
    budget.check("alice", 20)
    assert budget.used("alice") == 0


def test_invalid_limits_and_estimate():
    with pytest.raises(ValueError, match="per_user_limit"):
        TokenBudget(per_user_limit=0)
    with pytest.raises(ValueError, match="global_limit"):
        TokenBudget(global_limit=-5)
    assert estimate_tokens("x" * 400, 100) == 201
    assert estimate_tokens("", None) == 1


def test_two_processes_spend_one_budget_through_redis(redis_url):
    prefix = f"alphaforge:test:{uuid.uuid4().hex}:budget:"
    # Two budgets stand for two workers: same Redis and prefix, no shared memory.
    a = RedisTokenBudget(redis_url, prefix, per_user_limit=100, global_limit=150)
    b = RedisTokenBudget(redis_url, prefix, per_user_limit=100, global_limit=150)
    a.record("ann", 80)
    assert b.used("ann") == 80 and b.used() == 80
    with pytest.raises(BudgetExceeded):
        b.check("ann", 30)  # 80 spent on the other worker + 30 > 100
    b.check("bob", 30)
    b.record("bob", 60)
    with pytest.raises(BudgetExceeded):
        a.check("cid", 20)  # global: 140 + 20 > 150
