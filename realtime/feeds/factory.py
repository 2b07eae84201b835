"""Build the configured feed from settings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marketdata.store import ParquetStore
from realtime.errors import FeedError


def make_feed(svc: Any) -> Any:
    """The feed named by ``settings.feed``."""
    cfg = svc.settings
    if cfg.feed == "replay":
        from realtime.feeds.replay import ReplayFeed

        store = ParquetStore(cfg.data_dir / "lake")
        days = sorted({d for s in cfg.symbols for d in store.days("bars", s)})
        if not days:
            raise FeedError(f"replay feed: no stored bars under {cfg.data_dir / 'lake'}")
        return ReplayFeed(store, cfg.symbols, days[0], days[-1], "bars", cfg.feed_speed)
    if cfg.feed == "nats":
        from realtime.feeds.nats_feed import NatsTickFeed

        if not cfg.nats_url:
            raise FeedError("feed=nats needs REALTIME_NATS_URL")
        return NatsTickFeed(cfg.nats_url, f"{cfg.nats_subject_prefix}.ticks.>")
    if cfg.feed == "mt5":
        from realtime.feeds.mt5_feed import MT5TickFeed

        mt5 = getattr(svc.broker, "mt5", None)
        if mt5 is None:
            raise FeedError("feed=mt5 needs broker=mt5 (the terminal supplies the ticks)")
        # From the start of this minute: the minutes before are closed bars that warm-up (store
        # or ``recent_bars``) already fed, and a partial copy of one would be fed twice.
        since = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
        return MT5TickFeed(mt5, cfg.symbols, since=since)
    if cfg.feed == "dukascopy":
        from realtime.feeds.dukascopy_feed import DukascopyLiveFeed

        return DukascopyLiveFeed(cfg.symbols)
    raise FeedError(f"unknown feed {cfg.feed!r}")
