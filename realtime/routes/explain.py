"""POST /api/v1/signals/{symbol}/explain: an LLM's reading of the latest signal (rate-limited)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.concurrency import run_in_threadpool

from ml.llm.errors import BudgetExceeded, LLMUnavailable, PromptInputError
from realtime.deps import EngineDep, ServicesDep, ViewerDep
from realtime.errors import RateLimitedError

router = APIRouter(prefix="/signals", tags=["signals"])


@router.post("/{symbol}/explain")
async def explain(
    symbol: str, engine: EngineDep, svc: ServicesDep, who: ViewerDep, top_k: int = Query(5, ge=1, le=20)
) -> dict[str, object]:
    """Explain the newest signal; 503 when no LLM provider is configured or reachable."""
    wait = svc.explain_limiter.acquire(f"user:{who.user_id}")
    if wait:
        raise RateLimitedError("explain rate limit exceeded for this key", wait)
    sig = engine.latest(symbol.upper())
    direction = {1: "long", -1: "short"}.get(sig.signal, "flat")
    payload = {
        "direction": direction,
        "probability": sig.prob_up,
        "model": f"v{sig.model_version}",
        "bar_time": sig.features_ts.isoformat(),
    }
    # The openai client loads on the first explanation, not at service start-up.
    from ml.llm.explain import explain_signal
    from ml.llm.router import LLMRouter

    try:
        if svc.llm_router is None:
            # Built on first use, counting into the app's registry so /metrics shows its
            # tokens, cost, cache hits and hit rate.
            svc.llm_router = LLMRouter.from_settings(metrics=svc.metrics.llm)
        return await run_in_threadpool(
            explain_signal, svc.llm_router, sig.symbol, payload, sig.features, top_k, who.key_id
        )
    except LLMUnavailable as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"LLM explanations are unavailable: {exc}"
        ) from exc
    except BudgetExceeded as exc:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, str(exc), headers={"Retry-After": "60"}
        ) from exc
    except PromptInputError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
