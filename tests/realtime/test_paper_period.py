"""A paper period end to end: the gate's pass makes @paper, a realtime service serving @paper
trades it on the paper broker (replay feed, auto-trader), and the batch tier's paper-period job
asks that service over HTTP for the version's round trips and makes it @champion on them."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import httpx
import pytest
import uvicorn
from mlflow import MlflowClient

from assets.resources import MLflowResource, RealtimeResource
from marketdata.store import ParquetStore
from ml.registry import CHAMPION, PAPER, PromotionGate, alias_version, promote
from orchestration.evaluation import paper_period
from realtime.feeds.replay import ReplayFeed
from realtime.main import create_app
from tests.conftest import free_port
from tests.ml.test_gate import PASSING
from tests.realtime.conftest import ADMIN_KEY, DAYS, MODEL, register_model, settings_for, wait_for
from tests.support.uvicorn_thread import uvicorn_in_thread

START = dt.datetime.combine(DAYS[1], dt.time(), tzinfo=dt.UTC)


def put_on_paper(data_dir: Path, version: str) -> MlflowClient:
    """Pass ``version`` through the gate with a paper period, as the promotion asset does; the
    replayed day stands in for the period's days of live trading, so the period began before its
    first bar and is over now."""
    client = MlflowClient(tracking_uri=f"sqlite:///{data_dir / 'mlflow.db'}")
    assert promote(client, MODEL, version, PASSING, PromotionGate(paper_days=2)) is False
    client.set_model_version_tag(MODEL, version, "paper.since", START.isoformat())
    return client


@pytest.fixture(scope="module")
def paper_dir(rt_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """rt_dir's lake with a registry of this module's own, where v1 went on paper after the gate."""
    d = tmp_path_factory.mktemp("paper")
    (d / "lake").symlink_to(rt_dir / "lake")
    put_on_paper(d, register_model(d, alias="challenger"))
    return d


@pytest.fixture(scope="module")
def paper_service(paper_dir: Path) -> Iterator[tuple[str, object]]:
    """The realtime service serving @paper on the paper broker, over HTTP, after its replay."""
    feed = ReplayFeed(ParquetStore(paper_dir / "lake"), ["EURUSD"], DAYS[1], DAYS[1])
    cfg = settings_for(
        paper_dir,
        model_alias="paper",
        serve_newest_without_alias=False,
        auto_trade_symbols=["EURUSD"],
        auto_trade_lots=0.1,
    )
    app = create_app(cfg, feed=feed)
    port = free_port()
    with uvicorn_in_thread(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")):
        assert wait_for(lambda: app.state.svc.desk.feed.ended is not None, timeout=300)
        yield f"http://127.0.0.1:{port}", app.state.svc


def test_the_paper_version_trades_and_its_trades_make_it_champion(paper_dir: Path, paper_service) -> None:
    url, svc = paper_service
    put_on_paper(paper_dir, "1")
    since = START.isoformat()
    answer = httpx.get(
        f"{url}/api/v1/models/1/trades", params={"since": since}, headers={"X-API-Key": ADMIN_KEY}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    trades = answer.json()
    closed = svc.ledger.positions("closed")
    assert len(trades) == len(closed) > 5  # every closed position was the auto-trader's, for v1
    assert all(t["client_order_id"].startswith("auto-v1-EURUSD-") for t in trades)
    for t in trades:  # net of its costs, as the ledger booked them
        assert t["net_pnl"] == pytest.approx(t["gross_pnl"] - t["commission"] + t["swap"])
        assert t["commission"] > 0
    assert sum(t["gross_pnl"] for t in trades) == pytest.approx(sum(p.realized_pnl for p in closed))

    other = httpx.get(
        f"{url}/api/v1/models/2/trades", params={"since": since}, headers={"X-API-Key": ADMIN_KEY}, timeout=10
    )
    assert other.status_code == 200 and other.json() == []  # another version's trades are not these

    net = sum(t["net_pnl"] for t in trades)
    tracking = f"sqlite:///{paper_dir / 'mlflow.db'}"
    result = paper_period.execute_in_process(
        resources={
            "mlflow_server": MLflowResource(tracking_uri=tracking, registered_model=MODEL),
            "paper_service": RealtimeResource(url=url, api_key=ADMIN_KEY),
        },
        # the rule the replayed day's trades are judged by: at least 5, and a net no worse than theirs
        run_config={"ops": {"judge_paper_period": {"config": {"min_trades": 5, "min_net_pnl": net - 1.0}}}},
    )
    assert result.output_for_node("judge_paper_period") == "passed"
    client = MlflowClient(tracking_uri=tracking)
    assert alias_version(client, MODEL, CHAMPION) == "1" and alias_version(client, MODEL, PAPER) is None
    tags = client.get_model_version(MODEL, "1").tags
    assert int(tags["paper.trades"]) == len(trades)
    assert float(tags["paper.net_pnl"]) == pytest.approx(net, rel=1e-5)


def test_a_paper_period_that_falls_short_leaves_champion_alone(paper_dir: Path, paper_service) -> None:
    url, _ = paper_service
    tracking = f"sqlite:///{paper_dir / 'mlflow.db'}"
    client = put_on_paper(paper_dir, "1")
    champion = alias_version(client, MODEL, CHAMPION)
    result = paper_period.execute_in_process(
        resources={
            "mlflow_server": MLflowResource(tracking_uri=tracking, registered_model=MODEL),
            "paper_service": RealtimeResource(url=url, api_key=ADMIN_KEY),
        },
        run_config={"ops": {"judge_paper_period": {"config": {"min_trades": 10_000}}}},
    )
    assert result.output_for_node("judge_paper_period") == "failed"
    assert alias_version(client, MODEL, CHAMPION) == champion and alias_version(client, MODEL, PAPER) is None
    assert "paper trades < 10000" in client.get_model_version(MODEL, "1").tags["paper.failures"]


def test_the_service_refuses_a_bad_key_and_the_job_says_so(paper_service) -> None:
    url, _ = paper_service
    since = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(dg.Failure, match="answered 401"):
        RealtimeResource(url=url, api_key="af_wrong").model_trades("1", since)
    r = httpx.get(
        f"{url}/api/v1/models/x1/trades",
        params={"since": since.isoformat()},
        headers={"X-API-Key": ADMIN_KEY},
        timeout=10,
    )
    assert r.status_code == 422


def test_an_unreachable_service_fails_after_its_retries() -> None:
    port = free_port()  # nothing listens here
    t0 = time.monotonic()
    with pytest.raises(dg.Failure, match="unreachable after 3 tries"):
        RealtimeResource(url=f"http://127.0.0.1:{port}", retries=2, timeout_s=1).model_trades(
            "1", dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
        )
    assert time.monotonic() - t0 >= 1.5  # it paused 0.5 s and 1 s between the tries
