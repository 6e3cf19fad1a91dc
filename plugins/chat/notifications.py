"""API v2 notification routes (osu-web NotificationsController.php, NotificationTransformer.php)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from core.auth import api_route, require_user
from core.chat import notifications as notify_db
from core.chat.service import chat_settings
from core.http import json, no_content, params, time_offset, unprocessable
from core.openapi import describe
from core.services import services

FEED_PATH = "/notifications/feed"
PAGE = 50


def endpoint(settings: Any) -> str:
    """The websocket URL clients are told (lazer uses it exactly as given)."""
    configured = chat_settings(settings)["notification_endpoint"]
    if configured:
        return configured
    base = settings.public_url
    if base.startswith("https://"):
        base = "wss://" + base.removeprefix("https://")
    elif base.startswith("http://"):
        base = "ws://" + base.removeprefix("http://")
    return base + FEED_PATH


def _stacks(items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """osu-web's bundle groups: one stack per (object, category), one type per object type."""
    stacks: dict[tuple[str, int, str], dict[str, Any]] = {}
    for item in items:
        key = (item["object_type"], item["object_id"], notify_db.category(item["name"]))
        stack = stacks.get(key)
        if stack is None:
            stacks[key] = {
                "category": key[2],
                "cursor": None,
                "name": item["name"],
                "object_type": key[0],
                "object_id": key[1],
                "total": 1,
            }
        else:
            stack["total"] += 1
    by_type = Counter(item["object_type"] for item in items)
    types = [{"cursor": None, "name": None, "total": len(items)}] + [
        {"cursor": None, "name": name, "total": total} for name, total in sorted(by_type.items())
    ]
    return list(stacks.values()), types


@describe(responses={200: "NotificationBundle"})
async def list_notifications(request: Request) -> Response:
    user = require_user(request)
    svc = services(request)
    p = await params(request)
    max_id = p.int("max_id", minimum=0)
    unread = bool(p.bool("unread", False))
    rows = await notify_db.for_user(
        svc.db, int(user["id"]), max_id=max_id, unread_only=unread, limit=PAGE
    )
    has_more = len(rows) > PAGE
    items = [notify_db.shape(r) for r in rows[:PAGE]]
    stacks, types = _stacks(items)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    body = {
        "has_more": has_more,
        "notifications": items,
        "stacks": stacks,
        "types": types,
        "timestamp": time_offset(now),
        "unread_count": await notify_db.unread_count(svc.db, int(user["id"])),
        "notification_endpoint": endpoint(svc.settings),
    }
    return json(body, headers={"Cache-Control": "no-store"})


def _identity(value: Any) -> tuple[str | None, str | None, int | None]:
    if not isinstance(value, dict):
        raise unprocessable("invalid notification identity")
    category = value.get("category")
    object_type = value.get("object_type")
    object_id = value.get("object_id")
    if category in ("", None):
        category = None
    if object_type in ("", None):
        object_type = None
    if object_id in ("", None):
        object_id = None
    if (category is not None and not isinstance(category, str)) or (
        object_type is not None and not isinstance(object_type, str)
    ):
        raise unprocessable("invalid notification identity")
    if object_id is not None:
        try:
            object_id = int(str(object_id))
        except ValueError:
            raise unprocessable("invalid notification identity") from None
    return category, object_type, object_id


async def mark_read(request: Request) -> Response:
    user = require_user(request)
    svc = services(request)
    p = await params(request)
    user_id = int(user["id"])
    ids: list[int] = []
    notifications = p.list("notifications", max_items=1000)
    identities = p.list("identities", max_items=1000)
    to_mark = []
    for item in notifications:
        if not isinstance(item, dict):
            raise unprocessable("invalid notification")
        try:
            to_mark.append(int(str(item.get("id"))))
        except ValueError:
            raise unprocessable("invalid notification") from None
    parsed = [_identity(item) for item in identities]
    ids += await notify_db.mark_read_ids(svc.db, user_id, to_mark)
    for category, object_type, object_id in parsed:
        ids += await notify_db.mark_read_identity(
            svc.db,
            user_id,
            category_name=category,
            object_type=object_type,
            object_id=object_id,
        )
    if ids:
        text = notify_db.frame("read", ids=sorted(set(ids)))
        await notify_db.publish_to_users(svc.cache, [user_id], text)
    return no_content()


ROUTES = [
    api_route("/api/v2/notifications", list_notifications, scope="*"),
    api_route("/api/v2/notifications/mark-read", mark_read, methods=["POST"], scope="*"),
]
