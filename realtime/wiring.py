"""Glue run in the lifespan: signal listeners, auto-trading, and the background tasks."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from realtime.brokers.base import Side
from realtime.brokers.paper import PaperBroker
from realtime.errors import RealtimeError
from realtime.ledger.accounts import Principal
from realtime.ledger.rows import PositionRow
from realtime.ledger.trades import SYSTEM_USER_ID
from realtime.schemas import OrderIn
from realtime.services import Services
from realtime.signals import Signal
from realtime.sync import BrokerSync, run_periodically

log = logging.getLogger(__name__)
AUTO = Principal(SYSTEM_USER_ID, "auto-trader", "trader", "auto")


def auto_positions(svc: Services, symbol: str) -> list[PositionRow]:
    """Open positions in ``symbol`` that the auto-trader opened itself (an opening order of the
    AUTO principal with an ``auto-`` client id); a trader's manual positions are never its own."""
    out = []
    # The ledger selects the AUTO principal's positions: no order lookup per open position of
    # every trader on each signal.
    for p in svc.ledger.positions(opener=AUTO.user_id):
        order = svc.ledger.get_order(p.order_id) if p.symbol == symbol and p.order_id else None
        if order is not None and order.client_order_id.startswith("auto-"):
            out.append(p)
    return out


def auto_trade(svc: Services, sig: Signal) -> None:
    """Follow the signal on an auto-traded symbol: open on a direction, flip on a reversal."""
    if sig.symbol not in svc.settings.auto_trade_symbols or sig.signal == 0:
        return
    side: Side = "buy" if sig.signal > 0 else "sell"
    mine = auto_positions(svc, sig.symbol)
    if any(p.side == side for p in mine):
        return
    try:
        for p in mine:  # opposite exposure: close first
            close = OrderIn(symbol=p.symbol, side=side, volume=p.volume, client_order_id=f"auto-close-{p.id}")
            svc.orders.place(AUTO, close, position_id=p.id)
        cid = f"auto-{sig.symbol}-{int(sig.features_ts.timestamp())}"
        svc.orders.place(
            AUTO,
            OrderIn(symbol=sig.symbol, side=side, volume=svc.settings.auto_trade_lots, client_order_id=cid),
        )
    except RealtimeError as exc:
        log.warning("auto-trade on %s skipped: %s", sig.symbol, exc)


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
            auto_trade(svc, sig)

    svc.engine.listeners.append(_on_signal)


async def start_background(svc: Services, feed: Any = None) -> list[asyncio.Task[Any]]:
    """Connect NATS when configured, start the feed, alias polling and the broker sync; return
    the tasks."""
    cfg = svc.settings
    tasks: list[asyncio.Task[Any]] = []
    if cfg.nats_url:
        import nats

        svc.hub.nats = await nats.connect(cfg.nats_url, connect_timeout=2, max_reconnect_attempts=3)
    if feed is None and cfg.feed != "none":
        from realtime.feeds.factory import make_feed

        feed = make_feed(svc)
    if feed is not None:
        from realtime.feeds.runner import FeedRunner

        runner = FeedRunner(svc, feed)
        svc.feed_status["running"] = True
        svc.feed_status["started"] = time.time()
        tasks.append(asyncio.create_task(runner.run(), name="feed"))
    if cfg.model_poll_s > 0:
        tasks.append(asyncio.create_task(svc.reloader.poll(cfg.model_poll_s), name="model-poll"))
    # The paper broker books its own events (limit fills, sl/tp closes) as quotes arrive, through
    # on_fill; a remote broker's are only seen by reading them back.
    if cfg.broker_sync_s > 0 and not isinstance(svc.broker, PaperBroker):
        sync = run_periodically(BrokerSync(svc.orders), cfg.broker_sync_s)
        tasks.append(asyncio.create_task(sync, name="broker-sync"))
    return tasks
