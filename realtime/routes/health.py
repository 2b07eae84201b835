"""GET /health."""

from fastapi import APIRouter

from realtime.deps import EngineDep, SettingsDep
from realtime.schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get("/health")
def health(engine: EngineDep, settings: SettingsDep) -> HealthOut:
    """Liveness plus the served model's registry version."""
    m = engine.loaded
    return HealthOut(status="ok", model_name=m.name, model_version=m.version, model_alias=m.alias,
                     symbols=settings.symbols)
