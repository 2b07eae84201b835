"""Prometheus metrics, one registry per app (tests build several apps in one process)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from ml.llm.metrics import LLMMetrics, cache_hit_rate

# Any other method (clients may send "FOO1", "FOO2", ...) is labelled "other": label values
# must stay bounded, or anyone can grow /metrics without limit.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"})
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """Request latency, signals, orders by status, broker round trip, feed lag, model version."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.request_seconds = Histogram(
            "realtime_request_seconds",
            "HTTP request latency",
            ["method", "route", "status"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.signals = Counter("realtime_signals_total", "Signals computed", ["symbol", "signal"], registry=r)
        self.orders = Counter("realtime_orders_total", "Orders by final status", ["status"], registry=r)
        self.broker_seconds = Histogram(
            "realtime_broker_round_trip_seconds", "Broker submit round trip", buckets=_BUCKETS, registry=r
        )
        self.feed_lag = Gauge(
            "realtime_feed_lag_seconds", "Now minus the newest quote's time", ["symbol"], registry=r
        )
        self.feed_dropped = Counter(
            "realtime_feed_dropped_ticks",
            "Feed events dropped (late: older than the open bar; future: ahead of the clock; "
            "unknown_symbol: not served; error: could not be applied)",
            ["symbol", "reason"],
            registry=r,
        )
        self.model_version = Gauge(
            "realtime_model_version", "Served model version", ["name", "alias"], registry=r
        )
        self.ws_clients = Gauge("realtime_ws_clients", "Connected WebSocket clients", registry=r)
        self.ws_dropped = Gauge(
            "realtime_ws_dropped_messages", "Messages shed from slow WebSocket clients' full queues",
            registry=r,
        )
        self.ws_refused = Gauge(
            "realtime_ws_refused", "WebSockets refused at the cap (user: per user; total: server)",
            ["cap"], registry=r,
        )
        self.bridge_up = Gauge("realtime_mt5_bridge_up", "1 while the MT5 bridge link is up", registry=r)
        self.bridge_reconnects = Gauge(
            "realtime_mt5_bridge_reconnects", "MT5 bridge reconnections since start", registry=r
        )
        self.bridge_drops = Gauge(
            "realtime_mt5_bridge_drops", "MT5 bridge links lost since start", registry=r
        )
        self.bridge_down_s = Gauge(
            "realtime_mt5_bridge_down_seconds", "How long the MT5 bridge has been down (0 if up)", registry=r
        )
        # LLM usage of the explain endpoint: tokens, cost, requests, cache hits/misses, hit rate.
        self.llm = LLMMetrics(registry=r)
        Gauge("alphaforge_llm_cache_hit_rate", "LLM response cache hits / lookups", registry=r
              ).set_function(lambda: cache_hit_rate(self.llm))

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)

    def refresh_bridge(self, health: Mapping[str, Any] | None) -> None:
        """Copy the MT5 bridge's link state (``MT5Bridge.health``) into its gauges."""
        if health is None:
            return
        self.bridge_up.set(1.0 if health["connected"] else 0.0)
        self.bridge_reconnects.set(health["reconnects"])
        self.bridge_drops.set(health["drops"])
        self.bridge_down_s.set(health["down_for_s"] or 0.0)

    def refresh_feed_lag(
        self, last_quotes: Mapping[str, dt.datetime], now: dt.datetime | None = None
    ) -> None:
        """Set the lag of every symbol to ``now`` minus its newest quote time.

        Called when /metrics renders, not only when a quote arrives: a stalled feed must show
        a growing lag, not the lag of its last quote frozen (``FeedStatus.last_quote``).
        """
        now = now or dt.datetime.now(dt.UTC)
        for symbol, ts in list(last_quotes.items()):
            self.feed_lag.labels(symbol).set((now - ts).total_seconds())


def route_template(scope: dict[str, Any]) -> str:
    """The matched route's full path template (bounded label values), or "unmatched"."""
    # FastAPI 0.16x keeps included routers' routes relative; the effective context has the prefix.
    ctx = (
        scope.get("fastapi", {}).get("effective_route_context")
        if isinstance(scope.get("fastapi"), dict)
        else None
    )
    path = getattr(ctx, "path_format", None) or getattr(scope.get("route"), "path", None)
    return path or "unmatched"


class MetricsMiddleware:
    """Pure ASGI middleware timing each HTTP request by its route template (cheap per request)."""

    def __init__(self, app: Any, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0, status = time.perf_counter(), [500]

        async def _send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, _send)
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "other"
            self.metrics.request_seconds.labels(
                method, route_template(scope), str(status[0])
            ).observe(time.perf_counter() - t0)
