"""WebSocket /ws/signals: every new signal, and the caller's own order and fill events, as JSON."""

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status

from realtime.deps import authenticate
from realtime.hub import Subscriber

router = APIRouter(tags=["signals"])


@router.websocket("/ws/signals")
async def ws_signals(ws: WebSocket) -> None:
    """Authenticate with ``X-API-Key``/``?api_key=`` or ``?token=``, then receive pushes.

    Signals go to everyone; order and fill events only to their owner, and to admins.
    """
    svc = ws.app.state.svc
    key = ws.headers.get("x-api-key") or ws.query_params.get("api_key")
    who = await authenticate(svc, key, ws.query_params.get("token"))
    if who is None:
        await ws.close(code=status.WS_1008_POLICY_VIOLATION, reason="missing or invalid API key or token")
        return
    await ws.accept()
    queue = svc.hub.subscribe(Subscriber(who.user_id, who.allows("admin")))
    try:
        while True:
            await ws.send_text(await queue.get())
    except WebSocketDisconnect:
        pass
    finally:
        svc.hub.unsubscribe(queue)
