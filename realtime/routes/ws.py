"""WebSocket /ws/signals: every new signal, and the caller's own order and fill events, as JSON."""

import asyncio
import contextlib
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status

from realtime.deps import authenticate
from realtime.errors import RateLimitedError
from realtime.events.hub import Subscriber
from realtime.ledger.accounts import Principal

router = APIRouter(tags=["signals"])

# Put in a client's queue to wake its (maybe idle) push loop when the session ends.
_ENDED = "\x00session-ended"


async def _watch_session(
    svc: Any, who: Principal, token: str | None, queue: "asyncio.Queue[str]", ended: list[bool]
) -> None:
    """Every ``ws_auth_check_s``: is the key still live (one indexed query) or the token
    unexpired (a decode)? If not, flag the session and wake the push loop to close it.

    A task of its own, so the push loop pays one flag test per message, not a timer."""
    while True:
        await asyncio.sleep(svc.settings.ws_auth_check_s)
        if await asyncio.to_thread(svc.auth.still_valid, who, token):
            continue
        ended[0] = True
        if queue.full():
            queue.get_nowait()
        queue.put_nowait(_ENDED)  # again each period: the hub may shed it from a full queue


@router.websocket("/ws/signals")
async def ws_signals(ws: WebSocket) -> None:
    """Authenticate with ``X-API-Key``/``?api_key=`` or ``?token=``, then receive pushes.

    Signals go to everyone; order and fill events only to their owner, and to admins. The
    session is re-checked every ``ws_auth_check_s``: a revoked key or an expired token closes
    the socket with 1008 (policy violation).
    """
    svc = ws.app.state.svc
    key = ws.headers.get("x-api-key") or ws.query_params.get("api_key")
    token = ws.query_params.get("token")
    try:
        who = await authenticate(svc, key, token, ws.client.host if ws.client else None)
    except RateLimitedError as exc:
        await ws.close(code=status.WS_1008_POLICY_VIOLATION, reason=str(exc))
        return
    if who is None:
        await ws.close(code=status.WS_1008_POLICY_VIOLATION, reason="missing or invalid API key or token")
        return
    await ws.accept()
    queue = svc.hub.subscribe(Subscriber(who.user_id, who.allows("admin")))
    ended = [False]
    watch = asyncio.create_task(_watch_session(svc, who, None if key else token, queue, ended))
    try:
        while True:
            msg = await queue.get()
            if ended[0]:
                reason = "API key revoked or token expired"
                await ws.close(code=status.WS_1008_POLICY_VIOLATION, reason=reason)
                return
            await ws.send_text(msg)
    except WebSocketDisconnect:
        pass
    finally:
        watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch
        svc.hub.unsubscribe(queue)
