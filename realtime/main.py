"""The FastAPI app: the lifespan loads the model, warms up, wires services, starts the feed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.telemetry import TelemetryConfig

from marketdata.store import ParquetStore
from realtime import openapi
from realtime.errors import RateLimitedError, RealtimeError
from realtime.limits import BodySizeLimit
from realtime.metrics import Metrics, MetricsMiddleware
from realtime.model import load_by_alias
from realtime.routes import admin, auth, explain, health, orders, positions, signals, ws
from realtime.services import Services, build_services
from realtime.settings import Settings
from realtime.signals import SignalEngine
from realtime.wiring import start_background, wire_signals

log = logging.getLogger(__name__)


def warm_up(engine: SignalEngine, store: ParquetStore, symbol: str, n_bars: int) -> int:
    """Replay the newest stored bars of ``symbol`` through the engine: as many as its features
    and model need for a first signal, or ``n_bars`` when more history is wanted."""
    days = store.days("bars", symbol)
    if not days:
        return 0
    start = days[max(0, len(days) - 2)]
    bars = store.read_bars(symbol, start, days[-1]).tail(max(n_bars, engine.warmup_bars()))
    return engine.replay(symbol, bars)


def _last_bar(store: ParquetStore, symbol: str) -> dict[str, Any] | None:
    days = store.days("bars", symbol)
    if not days:
        return None
    bars = store.read_bars(symbol, days[-1], days[-1])
    return None if bars.empty else bars.iloc[-1].to_dict()


def create_app(settings: Settings | None = None, mt5_module: Any = None, feed: Any = None) -> FastAPI:
    """Build the app; settings default to the environment. ``mt5_module``: the MetaTrader5 module
    or a stand-in (bridge, simulator); ``feed``: a Feed object overriding ``settings.feed``."""
    cfg = settings or Settings()  # type: ignore[call-arg]
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loaded = load_by_alias(cfg.mlflow_tracking_uri, cfg.model_name, cfg.model_alias)
        engine = SignalEngine(loaded, cfg.symbols)
        store = ParquetStore(cfg.data_dir / "lake")
        for symbol in cfg.symbols:
            n = warm_up(engine, store, symbol, cfg.replay_bars)
            log.info("warm-up: replayed %d stored bars of %s", n, symbol)
        svc: Services = await asyncio.to_thread(build_services, cfg, engine, mt5_module, metrics)
        svc.hub.loop = asyncio.get_running_loop()
        for symbol in cfg.symbols:
            bar = _last_bar(store, symbol)
            if bar is not None:
                svc.quote_from_bar(symbol, bar)
        wire_signals(svc)
        app.state.svc, app.state.engine, app.state.settings = svc, engine, cfg
        tasks = await start_background(svc, feed)
        try:
            yield
        finally:
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
    app = FastAPI(title="alphaforge realtime", version="1", lifespan=lifespan, telemetry=telemetry)

    @app.exception_handler(RealtimeError)
    async def _realtime_error(request: Request, exc: RealtimeError) -> JSONResponse:
        headers = None
        if isinstance(exc, RateLimitedError):
            headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
        return JSONResponse(status_code=exc.status_code, content={"detail": str(exc)}, headers=headers)

    # Included one level deep, hottest first: each router level and each route tried before
    # the match costs FastAPI time on every request.
    for r in (signals.router, explain.router, orders.router, positions.router, auth.router):
        app.include_router(r, prefix="/api/v1")
    app.include_router(admin.router)
    app.include_router(health.router)
    app.include_router(ws.router)
    app.add_middleware(BodySizeLimit, max_bytes=cfg.max_body_bytes)
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
    return app
