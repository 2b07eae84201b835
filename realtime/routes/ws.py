"""WebSocket /ws/signals: every new signal, and the caller's own order and fill events, as JSON."""

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status

from realtime.deps import ServicesDep, authenticate
from realtime.errors import RateLimitedError
from realtime.events.hub import HubFullError, Subscriber
from realtime.ledger.accounts import Principal
from realtime.services import Services

router = APIRouter(tags=["signals"])

# Put in a client's queue to wake its (maybe idle) push loop when the session ends.
_ENDED = "\x00session-ended"
_PONG = '{"type": "pong"}'


def _offer(queue: "asyncio.Queue[str]", msg: str) -> None:
    """Queue ``msg``, shedding the oldest when full (as the hub does)."""
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(msg)


async def _read_client(ws: WebSocket, queue: "asyncio.Queue[str]", state: dict[str, bool]) -> None:
    """Read what the client sends and discard it (a ``ping`` is answered with a pong): unread
    messages would pile up in the server's receive buffer. Notes the client leaving at once,
    so an idle socket's queue is freed without waiting for the next push to fail."""
    while True:
        msg = await ws.receive()
        if msg["type"] == "websocket.disconnect":
            state["gone"] = True
            _offer(queue, _ENDED)
            return
        if msg.get("text") == "ping":
            _offer(queue, _PONG)


async def _watch_session(
    svc: Services, who: Principal, token: str | None, queue: "asyncio.Queue[str]", state: dict[str, bool]
) -> None:
    """Every ``ws_auth_check_s``: is the key still live (one indexed query) or the token
    unexpired (a decode)? If not, flag the session and wake the push loop to close it.

    A task of its own, so the push loop pays one flag test per message, not a timer."""
    while True:
        await asyncio.sleep(svc.settings.ws_auth_check_s)
        if await asyncio.to_thread(svc.auth.still_valid, who, token):
            continue
        state["ended"] = True
        _offer(queue, _ENDED)  # again each period: the hub may shed it from a full queue


@router.websocket("/ws/signals")
async def ws_signals(ws: WebSocket, svc: ServicesDep) -> None:
    """Authenticate with ``X-API-Key``/``?api_key=`` or ``?token=``, then receive pushes.

    Signals go to everyone; order and fill events only to their owner, and to admins. The
    session is re-checked every ``ws_auth_check_s``: a revoked key or an expired token closes
    the socket with 1008 (policy violation). Over ``ws_max_per_key`` sockets for one user the
    new one is closed with 1008, over ``ws_max_total`` in all with 1013 (try again later).
    """
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
    await ws.accept()  # then close with a code and reason the client can read
    try:
        queue = svc.hub.subscribe(Subscriber(who.user_id, who.allows("admin")))
    except HubFullError as exc:
        await ws.close(code=exc.code, reason=exc.reason)
        return
    state = {"ended": False, "gone": False}
    watch = asyncio.create_task(_watch_session(svc, who, None if key else token, queue, state))
    reader = asyncio.create_task(_read_client(ws, queue, state))
    try:
        while True:
            msg = await queue.get()
            if state["gone"]:
                return
            if state["ended"]:
                reason = "API key revoked or token expired"
                await ws.close(code=status.WS_1008_POLICY_VIOLATION, reason=reason)
                return
            await ws.send_text(msg)
    except WebSocketDisconnect:
        pass
    finally:
        for task in (watch, reader):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task
        svc.hub.unsubscribe(queue)
