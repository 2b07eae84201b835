"""/api/v1/signals: the latest signal and its history."""

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from realtime.deps import EngineDep, ViewerDep, require_viewer
from realtime.inference.signals import Signal
from realtime.schemas import SignalOut

router = APIRouter(prefix="/signals", tags=["signals"])


def signal_out(s: Signal) -> SignalOut:
    """The public view of a signal."""
    return SignalOut(
        symbol=s.symbol,
        signal=s.signal,
        prob_up=s.prob_up,
        features_ts=s.features_ts,
        model_version=s.model_version,
    )


@router.get("/{symbol}", response_model=SignalOut)
async def latest_signal(symbol: str, request: Request) -> Response:
    """The newest signal for ``symbol``: model version, features' timestamp and probability."""
    # The hottest route skips FastAPI's dependency solver and response validation: it runs the
    # same viewer check as every other route and serialises the declared schema itself.
    await require_viewer(request)
    engine = request.app.state.svc.engine
    body = signal_out(engine.latest(symbol.upper())).model_dump_json()
    return Response(body, media_type="application/json")


@router.get("/{symbol}/history")
async def signal_history(
    symbol: str, engine: EngineDep, who: ViewerDep, limit: int = Query(100, ge=1, le=1000)
) -> list[SignalOut]:
    """The newest ``limit`` signals of ``symbol``, oldest first."""
    return [signal_out(s) for s in engine.history(symbol.upper(), limit)]
