"""GET /notifications and POST /notifications/mark-read, and `notify` from other areas."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from core.chat import notifications as notify_db
from core.services import services
from tests.conftest import create_user, issue_token

URL = "/api/v2/notifications"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def medal(app: Starlette, user: int, achievement: int) -> int:
    return await notify_db.notify(
        services(app),
        [user],
        name="user_achievement_unlock",
        object_type="user",
        object_id=user,
        details={"achievement_id": achievement, "slug": f"medal-{achievement}", "user_id": user},
    )


async def test_listing_and_mark_read(client: httpx.AsyncClient, app: Starlette) -> None:
    a = await create_user(app, "alice")
    b = await create_user(app, "bobby")
    ta, tb = await issue_token(app, a), await issue_token(app, b)
    first, second = await medal(app, a, 1), await medal(app, a, 2)
    theirs = await medal(app, b, 3)

    r = await client.get(URL, headers=auth(ta))
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert set(body) == {
        "has_more",
        "notifications",
        "stacks",
        "types",
        "timestamp",
        "unread_count",
        "notification_endpoint",
    }
    assert body["notification_endpoint"].startswith("ws://")
    assert body["notification_endpoint"].endswith("/notifications/feed")
    assert body["unread_count"] == 2 and body["has_more"] is False
    newest = body["notifications"][0]
    assert [n["id"] for n in body["notifications"]] == [second, first]
    assert newest["name"] == "user_achievement_unlock" and newest["is_read"] is False
    assert newest["details"]["achievement_id"] == 2
    assert newest["created_at"].endswith("+00:00")
    assert body["stacks"] == [
        {
            "category": "user_achievement_unlock",
            "cursor": None,
            "name": "user_achievement_unlock",
            "object_type": "user",
            "object_id": a,
            "total": 2,
        }
    ]
    r = await client.get(URL, headers=auth(ta), params={"max_id": first})
    assert [n["id"] for n in r.json()["notifications"]] == [first]

    # Someone else's notification id is not ours to mark.
    r = await client.post(
        f"{URL}/mark-read", headers=auth(ta), json={"notifications": [{"id": theirs}]}
    )
    assert r.status_code == 204
    assert await notify_db.unread_count(services(app).db, b) == 1
    r = await client.post(
        f"{URL}/mark-read",
        headers=auth(ta),
        data={"notifications[0][id]": str(first), "notifications[0][category]": "x"},
    )
    assert r.status_code == 204
    r = await client.get(URL, headers=auth(ta), params={"unread": 1})
    assert [n["id"] for n in r.json()["notifications"]] == [second]
    r = await client.post(
        f"{URL}/mark-read",
        headers=auth(ta),
        json={"identities": [{"object_type": "user", "object_id": a}]},
    )
    assert r.status_code == 204
    assert await notify_db.unread_count(services(app).db, a) == 0
    assert await notify_db.unread_count(services(app).db, b) == 1
    assert (await client.get(URL, headers=auth(tb))).json()["unread_count"] == 1


async def test_mark_read_bad_input(client: httpx.AsyncClient, app: Starlette) -> None:
    a = await create_user(app, "alice")
    ta = await issue_token(app, a)
    await medal(app, a, 1)
    for body in (
        {"notifications": ["x"]},
        {"notifications": [{"id": "abc"}]},
        {"identities": [5]},
        {"identities": [{"object_id": "abc"}]},
        {"identities": [{"category": ["a"]}]},
        {"notifications": [{"id": 1}] * 1001},
    ):
        r = await client.post(f"{URL}/mark-read", headers=auth(ta), json=body)
        assert r.status_code == 422, body
    assert await notify_db.unread_count(services(app).db, a) == 1
    r = await client.get(URL, headers=auth(ta), params={"max_id": "x"})
    assert r.status_code == 422
    # Lazer-only routes: a chat token may not list notifications.
    chat_only = await issue_token(app, a, ["chat.read"])
    assert (await client.get(URL, headers=auth(chat_only))).status_code == 403
    assert (await client.get(URL)).status_code == 401
