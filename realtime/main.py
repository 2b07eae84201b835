"""The FastAPI app: the lifespan loads the model once and warms up on stored bars."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from marketdata.store import ParquetStore
from realtime.deps import require_api_key
from realtime.errors import RealtimeError
from realtime.model import load_by_alias
from realtime.routes import health, signals
from realtime.settings import Settings
from realtime.signals import SignalEngine

log = logging.getLogger(__name__)


def warm_up(engine: SignalEngine, store: ParquetStore, symbol: str, n_bars: int) -> int:
    """Replay the newest ``n_bars`` stored bars of ``symbol`` through the engine."""
    days = store.days("bars", symbol)
    if not days:
        return 0
    start = days[max(0, len(days) - 2)]
    bars = store.read_bars(symbol, start, days[-1]).tail(n_bars)
    return engine.replay(symbol, bars)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; settings default to the environment."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        cfg = settings or Settings()  # type: ignore[call-arg]
        loaded = load_by_alias(cfg.mlflow_tracking_uri, cfg.model_name, cfg.model_alias)
        engine = SignalEngine(loaded, cfg.symbols)
        store = ParquetStore(cfg.data_dir / "lake")
        for symbol in cfg.symbols:
            n = warm_up(engine, store, symbol, cfg.replay_bars)
            log.info("replayed %d bars of %s at %s", n, symbol, dt.datetime.now(dt.UTC))
        app.state.settings, app.state.engine = cfg, engine
        yield

    app = FastAPI(title="alphaforge realtime", lifespan=lifespan)

    @app.exception_handler(RealtimeError)
    async def _realtime_error(request: Request, exc: RealtimeError) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code, content={"detail": str(exc)})

    api = APIRouter(prefix="/api/v1", dependencies=[Depends(require_api_key)])
    api.include_router(signals.router)
    app.include_router(api)
    app.include_router(health.router)
    return app
