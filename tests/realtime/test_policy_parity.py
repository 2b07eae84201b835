"""One trading policy: the same bars through the evaluation backtest and through the realtime
service (replay feed, paper broker, auto-trader) make the same trades."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient

from marketdata.instruments import get_instrument
from marketdata.store import ParquetStore
from ml.backtest import CostModel, run_backtest
from ml.features import DEFAULT_FEATURE_SET, compute_features
from ml.models import signals_for_bars
from realtime.brokers.base import OrderIntent, Quote
from realtime.feeds.base import BarEvent
from realtime.feeds.replay import ReplayFeed
from realtime.main import create_app
from realtime.services import trading_policy
from tests.realtime.conftest import DAYS, settings_for, wait_for

EURUSD = get_instrument("EURUSD")


class GatedFeed:
    """A replay that starts when the test says so (after it has hooked the broker)."""

    name = "replay"

    def __init__(self, inner: ReplayFeed):
        self.inner, self.go = inner, threading.Event()

    async def stream(self) -> AsyncIterator[Quote | BarEvent]:
        while not self.go.is_set():
            await asyncio.sleep(0.01)
        async for ev in self.inner.stream():
            yield ev


def test_the_backtest_and_the_live_auto_trader_make_the_same_trades(rt_dir: Path, tmp_path: Path) -> None:
    for name in ("mlflow.db", "mlruns"):  # the registered model; no lake here, so no warm-up
        (tmp_path / name).symlink_to(rt_dir / name)
    store = ParquetStore(rt_dir / "lake")
    day = DAYS[1]
    feed = GatedFeed(ReplayFeed(store, ["EURUSD"], day, day))
    cfg = settings_for(tmp_path, auto_trade_symbols=["EURUSD"], auto_trade_lots=0.1)
    deals: list[tuple[pd.Timestamp, str, bool]] = []
    with TestClient(create_app(cfg, feed=feed)) as c:
        svc = c.app.state.svc
        broker, submit = svc.broker, svc.broker.submit

        def recording(intent: OrderIntent):  # what the service sends, at the quote it fills on
            quote = broker.quote(intent.symbol)
            deals.append((pd.Timestamp(quote.ts), intent.side, intent.close_position is None))
            return submit(intent)

        broker.submit = recording
        feed.go.set()
        assert wait_for(lambda: svc.desk.feed.ended is not None, timeout=300)
        model = c.app.state.engine.loaded.model

    bars = store.read_bars("EURUSD", day, day)
    last = pd.Timestamp(bars["ts"].iloc[-1])
    live: list[tuple[pd.Timestamp, pd.Timestamp | None, int]] = []
    for ts, side, opening in deals:
        if ts > last:  # the last bar's signal: the backtest never trades it
            continue
        if opening:
            live.append((ts, None, 1 if side == "buy" else -1))
        else:
            entry, _, direction = live[-1]
            live[-1] = (entry, ts, direction)

    policy = trading_policy(cfg)
    signal = signals_for_bars(model, "EURUSD", bars, compute_features(bars, DEFAULT_FEATURE_SET))
    res = run_backtest(bars, policy.targets(signal), EURUSD, CostModel(), close_at_end=False,
                       **policy.backtest_kwargs(EURUSD))
    trades = pd.concat([res.trades, res.open_trades], ignore_index=True)
    backtest = [(t.entry_time, None if pd.isna(t.exit_time) else t.exit_time, int(t.direction))
                for t in trades.itertuples()]
    assert len(backtest) > 10 and (signal == 0).any()  # flat signals happen and are traded
    assert live == backtest
