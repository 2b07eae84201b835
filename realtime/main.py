"""The FastAPI app: the lifespan loads the model, warms up, wires services, starts the feed."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pandas as pd
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.telemetry import TelemetryConfig

from marketdata.store import MarketStore
from marketdata.stores import store_from_env
from realtime import openapi
from realtime.access.body_limit import BodySizeLimit
from realtime.brokers.base import Broker
from realtime.errors import ModelReloadError, RateLimitedError, RealtimeError
from realtime.feeds.base import Feed
from realtime.feeds.replay import replay_split
from realtime.inference.model import load_serving
from realtime.inference.signals import SignalEngine
from realtime.routes import admin, auth, dashboard, explain, health, models, orders, positions, signals, ws
from realtime.services import Services, build_services
from realtime.settings import Settings
from realtime.telemetry.logs import configure_logging
from realtime.telemetry.metrics import Metrics, MetricsMiddleware
from realtime.wiring import start_background, wire_signals

log = logging.getLogger(__name__)


def warm_up(engine: SignalEngine, store: MarketStore, symbol: str, n_bars: int,
            before: pd.Timestamp | None = None) -> int:
    """Replay the newest stored bars of ``symbol`` (those opening before ``before``, when given:
    the replay feed's first bar) through the engine: as many as its features and model need for
    a first signal, or ``n_bars`` when more history is wanted."""
    days = [d for d in store.days("bars", symbol) if before is None or d <= before.date()]
    if not days:
        return 0
    need = max(n_bars, engine.warmup_bars())
    bars = store.read_bars(symbol, days[max(0, len(days) - 2)], days[-1])
    if before is not None:
        bars = bars[pd.to_datetime(bars["ts"], utc=True) < before]
        if len(bars) < need and len(days) > 2:  # the split sits early in a day: look further back
            bars = store.read_bars(symbol, days[max(0, len(days) - 5)], days[-1])
            bars = bars[pd.to_datetime(bars["ts"], utc=True) < before]
    return engine.replay(symbol, bars.tail(need))


def warm_up_from_broker(engine: SignalEngine, broker: Broker, symbol: str, n_bars: int) -> int:
    """Replay the broker's newest closed bars of ``symbol`` (MT5: ``recent_bars``); 0 when the
    broker keeps no history (paper) or has none."""
    if not broker.capabilities.keeps_history:
        return 0
    from realtime.feeds.mt5_feed import recent_bars

    return engine.replay(symbol, recent_bars(broker.market_data, symbol, max(n_bars, engine.warmup_bars())))


def pricing_bar(store: MarketStore, symbol: str, before: pd.Timestamp | None = None) -> dict[str, Any] | None:
    """The bar the open book is priced from at start-up: the newest stored one, or with a replay
    feed the last one before its first bar. Pricing from the newest while the replay starts
    earlier made the first replayed quote look like a jump (and could engage the kill switch)."""
    days = [d for d in store.days("bars", symbol) if before is None or d <= before.date()]
    for day in reversed(days[-2:]):  # the split may sit at 00:00: then the day before has it
        bars = store.read_bars(symbol, day, day)
        if before is not None:
            bars = bars[pd.to_datetime(bars["ts"], utc=True) < before]
        if not bars.empty:
            return bars.iloc[-1].to_dict()
    return None


def _configure_logging(cfg: Settings) -> None:
    """JSON logs with this deployment's secrets masked; uvicorn's loggers (access log included)
    rerouted through them."""
    secrets = [cfg.api_key.get_secret_value()]
    if cfg.jwt_secret is not None:
        secrets.append(cfg.jwt_secret.get_secret_value())
    configure_logging(cfg.log_level, secrets)


def create_app(
    settings: Settings | None = None, mt5_module: Any = None, feed: Feed | None = None
) -> FastAPI:
    """Build the app; settings default to the environment. ``mt5_module``: the MetaTrader5 module
    or a stand-in (bridge, simulator); ``feed``: a Feed object overriding ``settings.feed``."""
    cfg = settings or Settings()  # type: ignore[call-arg]
    _configure_logging(cfg)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Again at start-up: uvicorn configures its own loggers when its Config is built, which
        # may come after create_app (an app object rather than a factory).
        _configure_logging(cfg)
        loaded = load_serving(cfg.mlflow_tracking_uri, cfg.model_name, cfg.model_alias,
                              cfg.serve_newest_without_alias)
        engine = SignalEngine(loaded, cfg.symbols)
        store = store_from_env(cfg.data_dir / "lake")  # ALPHAFORGE_STORE: the batch side's store
        # a replay feed goes on from where warm-up ends (realtime.feeds.replay.replay_split)
        split = (replay_split(store, cfg.symbols, cfg.replay_start, engine.warmup_bars())
                 if cfg.feed == "replay" and feed is None else None)
        from_store = {s: warm_up(engine, store, s, cfg.replay_bars, split) for s in cfg.symbols}
        for symbol, n in from_store.items():
            log.info("warm-up: replayed %d stored bars of %s", n, symbol)
        svc: Services = await asyncio.to_thread(build_services, cfg, engine, mt5_module, metrics)
        for symbol in [s for s, n in from_store.items() if n == 0]:
            n = await asyncio.to_thread(warm_up_from_broker, engine, svc.broker, symbol, cfg.replay_bars)
            log.info("warm-up: no stored bars of %s; replayed %d of the broker's", symbol, n)
        svc.hub.loop = asyncio.get_running_loop()
        for symbol in cfg.symbols:
            bar = pricing_bar(store, symbol, split)
            if bar is not None:
                svc.desk.quote_from_bar(symbol, bar)
        wire_signals(svc)
        app.state.svc, app.state.engine, app.state.settings = svc, engine, cfg
        tasks = await start_background(svc, feed)
        # What start-up built (modules, the model, the services) lives as long as the app. Left
        # to the collector, each of its full passes walks all of it while every request waits:
        # one took 0.23-0.25 s under the paper_orders load here (p99 205-237 ms; 33 ms frozen).
        # Unfrozen again at shutdown, so a process that runs apps one after another (the tests)
        # can still collect what each left behind.
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            if svc.hub.nats is not None:
                await svc.hub.nats.drain()
            svc.ledger.close()

    # FastAPI's built-in OpenTelemetry is off unless asked for: /metrics already exports request
    # latency, and its per-request checks cost the hot signal path.
    telemetry: TelemetryConfig = {"tracing": cfg.otel, "metrics": cfg.otel, "logs": cfg.otel}
    app = FastAPI(title="alphaforge realtime", version="1", lifespan=lifespan, telemetry=telemetry,
                  docs_url=None, redoc_url=None, openapi_url=None)  # /docs, /openapi.json: routes.dashboard

    @app.exception_handler(RealtimeError)
    async def _realtime_error(request: Request, exc: RealtimeError) -> JSONResponse:
        headers = None
        if isinstance(exc, RateLimitedError):
            headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
        content: dict[str, object] = {"detail": str(exc)}
        if isinstance(exc, ModelReloadError):  # the reload answer's own shape, plus the detail
            content |= {"reloaded": False, "version": exc.serving_version, "error": str(exc)}
        return JSONResponse(status_code=exc.status_code, content=content, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler echoes each bad input back; a NaN or infinity among them cannot
        # be rendered as JSON and turned a 422 into a 500. Where and why is enough for a client.
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()
        ]
        return JSONResponse(status_code=422, content={"detail": errors})

    # Included one level deep, hottest first: each router level and each route tried before
    # the match costs FastAPI time on every request.
    for r in (signals.router, explain.router, orders.router, positions.router, auth.router, models.router):
        app.include_router(r, prefix="/api/v1")
    app.include_router(admin.router)
    app.include_router(health.router)
    app.include_router(ws.router)
    app.add_middleware(BodySizeLimit, max_bytes=cfg.max_body_bytes, max_header_bytes=cfg.max_header_bytes)
    if cfg.trusted_proxies.strip():
        # Only from these addresses is a forwarded client address believed; serving turns
        # uvicorn's own (which trusts 127.0.0.1) off.
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        hosts = [h.strip() for h in cfg.trusted_proxies.split(",") if h.strip()]
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=hosts)
    if cfg.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=cfg.cors_origins,
            allow_credentials=False,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["X-API-Key", "Authorization", "Content-Type"],
        )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    openapi.install(app)
    dashboard.install(app, cfg.docs_public)
    return app
