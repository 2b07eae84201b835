"""Glue run in the lifespan: signal listeners and the background tasks."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from realtime.feeds.base import Feed
from realtime.inference.signals import Signal
from realtime.services import Services
from realtime.trading.sync import BrokerSync, run_periodically

log = logging.getLogger(__name__)


def wire_signals(svc: Services) -> None:
    """Each new signal: count it, push it to WebSocket/NATS clients, maybe trade it."""

    def _on_signal(sig: Signal) -> None:
        svc.metrics.signals.labels(sig.symbol, str(sig.signal)).inc()
        svc.hub.publish(
            "signal",
            {
                "symbol": sig.symbol,
                "signal": sig.signal,
                "prob_up": sig.prob_up,
                "features_ts": sig.features_ts.isoformat(),
                "model_version": sig.model_version,
            },
        )
        if svc.settings.auto_trade_symbols:
            svc.auto_trader.on_signal(sig)

    svc.engine.listeners.append(_on_signal)


async def start_background(svc: Services, feed: Feed | None = None) -> list[asyncio.Task[Any]]:
    """Connect NATS when configured, start the feed, alias polling and the broker sync; return
    the tasks."""
    cfg = svc.settings
    tasks: list[asyncio.Task[Any]] = []
    if cfg.nats_url:
        import nats

        svc.hub.nats = await nats.connect(cfg.nats_url, connect_timeout=2, max_reconnect_attempts=3)
    if feed is None and cfg.feed != "none":
        from realtime.feeds.factory import make_feed

        feed = make_feed(cfg, svc.broker, svc.engine.warmup_bars())
    if feed is not None:
        from realtime.feeds.runner import FeedRunner

        runner = FeedRunner(feed, svc.desk, svc.engine, svc.feed_status, cfg.max_tick_future_s)
        svc.feed_status.running = True
        svc.feed_status.started = time.time()
        tasks.append(asyncio.create_task(runner.run(), name="feed"))
    if cfg.model_poll_s > 0:
        tasks.append(asyncio.create_task(svc.reloader.poll(cfg.model_poll_s), name="model-poll"))
    # An in-process broker hands its own deals (limit fills, sl/tp closes) to the desk as quotes
    # arrive; a remote broker's are only seen by reading them back.
    if cfg.broker_sync_s > 0 and svc.broker.capabilities.needs_sync:
        sync = run_periodically(BrokerSync(svc.orders), cfg.broker_sync_s)
        tasks.append(asyncio.create_task(sync, name="broker-sync"))
    return tasks
