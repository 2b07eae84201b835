"""The paper-trading period: the gate's pass makes @paper (not @champion) when asked, and the
period's verdict on the version's own paper trades moves @champion or drops @paper."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from mlflow import MlflowClient

from ml import paper_period
from ml.paper_period import PaperPeriod, PaperRules
from ml.registry import CHAMPION, PAPER, PREVIOUS, PromotionGate, alias_version, promote
from tests.ml.test_gate import PASSING

NAME = "paper-test"
T0 = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)


@pytest.fixture
def client(tmp_path: Path) -> MlflowClient:
    """A registry with versions 1 and 2 of one model, v1 @champion."""
    c = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    c.create_registered_model(NAME)
    for _ in range(2):
        c.create_model_version(NAME, source=str(tmp_path / "artifact"))
    c.set_registered_model_alias(NAME, CHAMPION, "1")
    return c


def trades(*pnls: float, start: dt.datetime = T0) -> list[dict[str, object]]:
    """Round trips as the realtime service answers them, an hour apart from ``start``."""
    return [
        {"opened_at": (start + dt.timedelta(hours=i)).isoformat(), "net_pnl": p} for i, p in enumerate(pnls)
    ]


def test_with_paper_days_a_pass_makes_paper_not_champion(client: MlflowClient) -> None:
    assert promote(client, NAME, "2", PASSING, PromotionGate(paper_days=5)) is False
    assert alias_version(client, NAME, PAPER) == "2"
    assert alias_version(client, NAME, CHAMPION) == "1"
    period = paper_period.current_period(client, NAME)
    assert period is not None and period.version == "2" and period.days == 5
    assert abs((dt.datetime.now(dt.UTC) - period.since).total_seconds()) < 60


def test_without_paper_days_a_pass_makes_champion_and_a_failure_makes_neither(client: MlflowClient) -> None:
    assert promote(client, NAME, "2", {**PASSING, "sharpe": 0.1}, PromotionGate(paper_days=5)) is False
    assert alias_version(client, NAME, PAPER) is None  # a failed gate never goes on paper
    assert promote(client, NAME, "2", PASSING, PromotionGate()) is True
    assert alias_version(client, NAME, CHAMPION) == "2" and alias_version(client, NAME, PAPER) is None


def test_the_period_runs_until_its_days_are_over() -> None:
    period = PaperPeriod("2", T0, 3)
    rules = PaperRules(min_trades=2)
    assert paper_period.judge(period, trades(5, 5), rules, T0 + dt.timedelta(days=2.9)).state == "running"
    assert paper_period.judge(period, trades(5, 5), rules, T0 + dt.timedelta(days=3)).state == "passed"


@pytest.mark.parametrize(
    ("pnls", "failure"),
    [((5.0, 4.0), "2 paper trades < 3"), ((5.0, 4.0, -9.5), "paper net P&L -0.50 < 0")],
)
def test_each_rule_alone_fails_the_period(pnls: tuple[float, ...], failure: str) -> None:
    verdict = paper_period.judge(
        PaperPeriod("2", T0, 1), trades(*pnls), PaperRules(min_trades=3), T0 + dt.timedelta(days=2)
    )
    assert verdict.state == "failed" and verdict.failures == [failure]


def test_trades_opened_before_the_period_are_not_its_own() -> None:
    before = trades(100.0, 100.0, start=T0 - dt.timedelta(hours=5))
    verdict = paper_period.judge(
        PaperPeriod("2", T0, 1),
        before + trades(1.0, -3.0),
        PaperRules(min_trades=2),
        T0 + dt.timedelta(days=1),
    )
    assert (verdict.n_trades, verdict.net_pnl, verdict.state) == (2, -2.0, "failed")


def test_a_passed_period_makes_champion_and_keeps_the_old_one_as_previous(client: MlflowClient) -> None:
    promote(client, NAME, "2", PASSING, PromotionGate(paper_days=1))
    period = paper_period.current_period(client, NAME)
    assert period is not None
    verdict = paper_period.judge(
        period, trades(2.0, start=period.since), PaperRules(min_trades=1), period.ends()
    )
    assert paper_period.conclude(client, NAME, verdict) is True
    assert alias_version(client, NAME, CHAMPION) == "2" and alias_version(client, NAME, PREVIOUS) == "1"
    assert alias_version(client, NAME, PAPER) is None
    tags = client.get_model_version(NAME, "2").tags
    assert (tags["paper.verdict"], tags["paper.trades"], tags["paper.net_pnl"]) == ("passed", "1", "2")


def test_a_failed_period_drops_paper_and_says_why(client: MlflowClient) -> None:
    promote(client, NAME, "2", PASSING, PromotionGate(paper_days=1))
    period = paper_period.current_period(client, NAME)
    assert period is not None
    verdict = paper_period.judge(
        period, trades(-2.0, start=period.since), PaperRules(min_trades=1), period.ends()
    )
    assert paper_period.conclude(client, NAME, verdict) is False
    assert alias_version(client, NAME, CHAMPION) == "1" and alias_version(client, NAME, PAPER) is None
    assert client.get_model_version(NAME, "2").tags["paper.failures"] == "paper net P&L -2.00 < 0"


def test_a_running_period_keeps_paper_and_records_its_progress(client: MlflowClient) -> None:
    promote(client, NAME, "2", PASSING, PromotionGate(paper_days=1))
    period = paper_period.current_period(client, NAME)
    assert period is not None
    verdict = paper_period.judge(period, trades(1.5, start=period.since), PaperRules(), period.since)
    assert paper_period.conclude(client, NAME, verdict) is False
    assert alias_version(client, NAME, PAPER) == "2" and alias_version(client, NAME, CHAMPION) == "1"
    assert client.get_model_version(NAME, "2").tags["paper.verdict"] == "running"
