"""Chat and notifications: API v2 chat and notification routes and the notification websocket.

On start-up the configured public channels are created if missing (`[chat] channels`) and this
worker subscribes to the notification bus; see `feed` for delivery across workers.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute, WebSocketRoute

from core.chat.service import ensure_default_channels
from core.hooks import hookimpl
from core.services import services
from plugins.chat import api, notifications
from plugins.chat.feed import HUB_KEY, Hub, feed


@hookimpl
def routes() -> list[BaseRoute]:
    return [
        *api.ROUTES,
        *notifications.ROUTES,
        WebSocketRoute(notifications.FEED_PATH, feed, name="notification_feed"),
    ]


@hookimpl
async def startup(app: Any) -> None:
    await ensure_default_channels(services(app))
    hub = services(app).extras[HUB_KEY] = Hub(app)
    await hub.start()


@hookimpl
async def shutdown(app: Any) -> None:
    hub = services(app).extra(HUB_KEY, Hub)
    if hub is not None:
        await hub.stop()
