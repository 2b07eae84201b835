"""Build the configured feed from settings."""

from __future__ import annotations

import datetime as dt

from marketdata.stores import store_from_env
from realtime.brokers.base import Broker
from realtime.errors import FeedError
from realtime.feeds.base import Feed
from realtime.settings import Settings


def make_feed(cfg: Settings, broker: Broker, warmup: int = 0) -> Feed:
    """The feed named by ``cfg.feed``; ``broker`` supplies the ticks of a feed it keeps (MT5);
    ``warmup``: the bars the engine needs before its first signal (replay starts after them)."""
    if cfg.feed == "replay":
        from realtime.feeds.replay import ReplayFeed, replay_split

        store = store_from_env(cfg.data_dir / "lake")
        days = sorted({d for s in cfg.symbols for d in store.days("bars", s)})
        # the same split as the warm-up's (realtime.main), so the feed goes on where it ended
        since = replay_split(store, cfg.symbols, cfg.replay_start, warmup)
        if since is None:
            raise FeedError(f"replay feed: no stored bars of {', '.join(cfg.symbols)} in the store")
        return ReplayFeed(store, cfg.symbols, since.date(), days[-1], "bars", cfg.feed_speed, since=since)
    if cfg.feed == "nats":
        from realtime.feeds.nats_feed import NatsTickFeed

        if not cfg.nats_url:
            raise FeedError("feed=nats needs REALTIME_NATS_URL")
        return NatsTickFeed(cfg.nats_url, f"{cfg.nats_subject_prefix}.ticks.>")
    if cfg.feed == "mt5":
        from realtime.feeds.mt5_feed import MT5TickFeed

        if not broker.capabilities.keeps_history:
            raise FeedError("feed=mt5 needs broker=mt5 (the terminal supplies the ticks)")
        # From the start of this minute: the minutes before are closed bars that warm-up (store
        # or ``recent_bars``) already fed, and a partial copy of one would be fed twice.
        since = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
        return MT5TickFeed(broker.market_data, cfg.symbols, since=since)
    if cfg.feed == "dukascopy":
        from realtime.feeds.dukascopy_feed import DukascopyLiveFeed

        return DukascopyLiveFeed(cfg.symbols)
    raise FeedError(f"unknown feed {cfg.feed!r}")
