"""GET /api/v1/signals/{symbol}."""

from fastapi import APIRouter

from realtime.deps import EngineDep
from realtime.schemas import SignalOut

router = APIRouter(prefix="/signals", tags=["signals"])


@router.get("/{symbol}")
def latest_signal(symbol: str, engine: EngineDep) -> SignalOut:
    """The newest signal for ``symbol``: model version, features' timestamp and probability."""
    s = engine.latest(symbol.upper())
    return SignalOut(symbol=s.symbol, signal=s.signal, prob_up=s.prob_up,
                     features_ts=s.features_ts, model_version=s.model_version)
