"""WebSocket ``/ws``: live events; authenticate with ``?token=<access token>``."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket, status

from backend.core.auth import TokenError
from backend.core.service import Runtime
from backend.live.push import TOPICS

router = APIRouter(tags=["live"])


@router.websocket("/ws")
async def live(ws: WebSocket, token: str = "", topics: str = "") -> None:
    """Browsers cannot set headers on WebSockets, so the token comes as a query parameter.

    ``topics`` is a comma-separated subset of system, nodes, detections, consensus,
    logs, alerts (default: all); send ``{"subscribe": [...]}`` to change it later.
    """
    rt: Runtime = ws.app.state.runtime
    try:
        rt.tokens.check(token, "access")
    except TokenError:
        await ws.close(code=status.WS_1008_POLICY_VIOLATION)
        return
    wanted = {t for t in topics.split(",") if t in TOPICS} if topics else set(TOPICS)
    await ws.accept()
    await rt.hub.serve(ws, wanted)
