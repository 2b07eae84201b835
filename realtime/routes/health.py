"""/health (liveness), /ready (model, feed, broker, ledger) and /metrics."""

from typing import Any

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from realtime.deps import ServicesDep
from realtime.inference.model import can_predict
from realtime.schemas import HealthOut

router = APIRouter(tags=["health"])


def bridge_health(svc: ServicesDep) -> dict[str, Any] | None:
    """The link state of the API the broker talks to (connected, reconnects, drops, down_for_s)
    when that API is reached over a bridge (``MT5Bridge.health``); None for one in process."""
    health = getattr(svc.broker.market_data, "health", None)
    return health() if callable(health) else None


@router.get("/health")
async def health(svc: ServicesDep) -> HealthOut:
    """Liveness plus the served model's registry version."""
    m = svc.engine.loaded
    return HealthOut(
        status="ok",
        model_name=m.name,
        model_version=m.version,
        model_alias=m.alias,
        symbols=svc.settings.symbols,
        mode="signals-only" if m.signals_only else "trading",
        trading_enabled=not m.signals_only,
        banner=m.banner,
    )


@router.get("/ready")
async def ready(svc: ServicesDep) -> JSONResponse:
    """200 when the model, feed, broker (and its bridge) and ledger all answer; 503 naming what
    does not. Asking the broker is what lets a dropped bridge try to reconnect."""
    loaded = svc.engine.loaded
    checks = {
        "model": loaded is not None and can_predict(loaded),
        "feed": svc.feed_status.alive(svc.settings.feed),
        "broker": await run_in_threadpool(svc.broker.ping),
        "ledger": await run_in_threadpool(svc.ledger.ping),
    }
    link = bridge_health(svc)
    if link is not None:
        checks["bridge"] = bool(link["connected"])
    body = {
        "ready": all(checks.values()),
        "checks": checks,
        "model_version": loaded.version if loaded is not None else None,
        "model_reload_error": svc.reloader.last_error,
        "feed_error": svc.feed_status.error,
        **({"bridge": link} if link is not None else {}),
    }
    return JSONResponse(body, status_code=200 if body["ready"] else 503)


@router.get("/metrics", include_in_schema=False)
def metrics(svc: ServicesDep) -> Response:
    """Prometheus text format; gauges that depend on the clock are computed now."""
    svc.metrics.ws_clients.set(svc.hub.clients)
    svc.metrics.ws_dropped.set(svc.hub.dropped)
    for cap, n in svc.hub.refused.items():
        svc.metrics.ws_refused.labels(cap).set(n)
    svc.metrics.refresh_feed_lag(svc.feed_status.last_quote)
    svc.metrics.refresh_bridge(bridge_health(svc))
    return Response(svc.metrics.render(), media_type=CONTENT_TYPE_LATEST)
