"""API v2 chat routes in-process: shapes, membership, PM rules, limits and bad input."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from core.chat import notifications as notify_db
from core.chat import service as chat
from core.chat import store as chat_db
from core.db import utcnow
from core.services import services
from core.users import store as users_db
from tests.conftest import create_user, issue_token

CHAT = "/api/v2/chat"


@pytest.fixture
def settings_overrides() -> dict[str, dict[str, Any]]:
    # Generous limits so tests that send several messages are not throttled; the limit tests
    # below set their own.
    return {"chat": {"public_limit": 100, "private_limit": 100}}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def two_users(app: Starlette) -> tuple[int, str, int, str]:
    a = await create_user(app, "alice")
    b = await create_user(app, "bobby")
    return a, await issue_token(app, a), b, await issue_token(app, b)


async def channel_id(app: Starlette, name: str = "#osu") -> int:
    found = await chat_db.find_channel(services(app).db, name, chat_db.PUBLIC)
    assert found is not None
    return int(found["id"])


async def join(client: httpx.AsyncClient, token: str, user: int, channel: int) -> httpx.Response:
    return await client.put(f"{CHAT}/channels/{channel}/users/{user}", headers=auth(token))


async def test_default_channels_exist_on_a_fresh_server(
    client: httpx.AsyncClient, app: Starlette, token: str
) -> None:
    r = await client.get(f"{CHAT}/channels", headers=auth(token))
    assert r.status_code == 200
    channels = r.json()
    assert [c["name"] for c in channels] == ["#osu", "#lobby"]
    osu = channels[0]
    assert osu["type"] == "PUBLIC"
    assert osu["description"] == "The official osu! channel (english only)."
    assert set(osu) == {
        "channel_id",
        "description",
        "icon",
        "message_length_limit",
        "moderated",
        "name",
        "type",
        "uuid",
    }
    assert osu["message_length_limit"] == 450
    # A restart does not duplicate them.
    await chat.ensure_default_channels(services(app))
    assert len(await chat_db.public_channels(services(app).db)) == 2


class TestConfiguredChannels:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, dict[str, Any]]:
        return {"chat": {"channels": ["#english", "#help=Ask here"]}}

    async def test_configured_channels_replace_the_defaults(
        self, client: httpx.AsyncClient, token: str
    ) -> None:
        r = await client.get(f"{CHAT}/channels", headers=auth(token))
        assert [(c["name"], c["description"]) for c in r.json()] == [
            ("#english", ""),
            ("#help", "Ask here"),
        ]


async def test_join_send_history_and_mark_as_read(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    a, ta, b, tb = await two_users(app)
    osu = await channel_id(app)
    r = await join(client, ta, a, osu)
    assert r.status_code == 200
    joined = r.json()
    assert joined["channel_id"] == osu
    assert joined["current_user_attributes"] == {
        "can_list_users": False,
        "can_message": True,
        "can_message_error": None,
        "last_read_id": None,
    }
    assert joined["users"] == [] and joined["last_message_id"] is None
    assert (await join(client, tb, b, osu)).status_code == 200

    r = await client.post(
        f"{CHAT}/channels/{osu}/messages",
        headers=auth(ta),
        data={"message": "  hello\nworld  ", "is_action": "false", "uuid": "abc-1"},
    )
    assert r.status_code == 200, r.text
    message = r.json()
    assert message["content"] == "hello world"
    assert message["type"] == "plain" and message["is_action"] is False
    assert message["uuid"] == "abc-1"
    assert message["sender_id"] == a and message["sender"]["username"] == "alice"
    assert message["timestamp"].endswith("Z")

    action = await client.post(
        f"{CHAT}/channels/{osu}/messages",
        headers=auth(tb),
        json={"message": "waves", "is_action": True},
    )
    assert action.status_code == 200
    assert action.json()["type"] == "action" and action.json()["is_action"] is True

    history = (await client.get(f"{CHAT}/channels/{osu}/messages", headers=auth(tb))).json()
    assert [m["content"] for m in history] == ["hello world", "waves"]
    assert all("uuid" not in m for m in history)
    assert history[0]["sender"]["id"] == a
    since = (
        await client.get(
            f"{CHAT}/channels/{osu}/messages",
            headers=auth(tb),
            params={"since": history[0]["message_id"]},
        )
    ).json()
    assert [m["content"] for m in since] == ["waves"]
    until = (
        await client.get(
            f"{CHAT}/channels/{osu}/messages",
            headers=auth(tb),
            params={"until": history[1]["message_id"], "limit": 0},
        )
    ).json()
    assert [m["content"] for m in until] == ["hello world"]
    obj = (
        await client.get(
            f"{CHAT}/channels/{osu}/messages", headers=auth(tb), params={"return_object": 1}
        )
    ).json()
    assert [m["content"] for m in obj["messages"]] == ["hello world", "waves"]
    assert sorted(u["id"] for u in obj["users"]) == sorted([a, b])

    # The sender has read their own message; b has not read anything yet.
    show = (await client.get(f"{CHAT}/channels/{osu}", headers=auth(tb))).json()
    assert show["channel"]["last_message_id"] == history[1]["message_id"]
    assert show["channel"]["current_user_attributes"]["last_read_id"] == history[1]["message_id"]
    assert show["users"] == []
    first = history[0]["message_id"]
    r = await client.put(f"{CHAT}/channels/{osu}/mark-as-read/{first}", headers=auth(ta))
    assert r.status_code == 204
    # The read marker never goes backwards, and never past the last message.
    state = services(app)
    assert (await chat_db.membership(state.db, osu, a))["last_read_id"] == first
    r = await client.put(f"{CHAT}/channels/{osu}/mark-as-read/{10**12}", headers=auth(ta))
    assert r.status_code == 204
    assert (await chat_db.membership(state.db, osu, a))["last_read_id"] == history[1]["message_id"]

    updates = (await client.get(f"{CHAT}/updates", headers=auth(ta), params={"since": 0})).json()
    assert updates["messages"] == [] and updates["silences"] == []
    [presence] = updates["presence"]
    assert presence["channel_id"] == osu
    assert presence["last_read_id"] == presence["last_message_id"] == history[1]["message_id"]

    r = await client.delete(f"{CHAT}/channels/{osu}/users/{a}", headers=auth(ta))
    assert r.status_code == 204
    r = await client.get(f"{CHAT}/channels/{osu}/messages", headers=auth(ta))
    assert r.status_code == 404
    r = await client.post(
        f"{CHAT}/channels/{osu}/messages", headers=auth(ta), data={"message": "still here?"}
    )
    assert r.status_code == 422
    assert r.json() == {"error": chat.NO_ACCESS}


async def test_private_messages(client: httpx.AsyncClient, app: Starlette) -> None:
    a, ta, b, tb = await two_users(app)
    r = await client.post(
        f"{CHAT}/new", headers=auth(ta), data={"target_id": str(b), "message": "hi bob"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    pm = body["new_channel_id"]
    assert body["channel"]["channel_id"] == pm
    assert body["channel"]["type"] == "PM" and body["channel"]["name"] == "bobby"
    assert body["channel"]["users"] == sorted([a, b])
    assert body["channel"]["last_message_id"] == body["message"]["message_id"]
    assert body["message"]["content"] == "hi bob" and body["message"]["sender"]["id"] == a

    # The other side sees the channel named after the sender, and can answer in it.
    show = (await client.get(f"{CHAT}/channels/{pm}", headers=auth(tb))).json()
    assert show["channel"]["name"] == "alice"
    assert sorted(u["id"] for u in show["users"]) == sorted([a, b])
    assert {"country", "cover", "groups", "team"} <= set(show["users"][0])
    r = await client.post(
        f"{CHAT}/channels/{pm}/messages", headers=auth(tb), data={"message": "yo"}
    )
    assert r.status_code == 200

    # Reusing the conversation does not make another channel.
    r = await client.post(
        f"{CHAT}/new", headers=auth(tb), data={"target_id": str(a), "message": "again"}
    )
    assert r.json()["new_channel_id"] == pm
    created = await client.post(
        f"{CHAT}/channels", headers=auth(ta), data={"type": "PM", "target_id": str(b)}
    )
    assert created.status_code == 200
    assert created.json()["channel_id"] == pm
    assert [m["content"] for m in created.json()["recent_messages"]] == ["hi bob", "yo", "again"]

    # The recipient got channel_message notifications; the sender none.
    assert await notify_db.unread_count(services(app).db, b) == 1
    assert await notify_db.unread_count(services(app).db, a) == 2

    # Leaving a PM hides it; a new message brings it back.
    assert (
        await client.delete(f"{CHAT}/channels/{pm}/users/{b}", headers=auth(tb))
    ).status_code == 204
    presence = (await client.get(f"{CHAT}/updates", headers=auth(tb), params={"since": 0})).json()
    assert presence["presence"] == []
    await client.post(f"{CHAT}/channels/{pm}/messages", headers=auth(ta), data={"message": "back?"})
    presence = (await client.get(f"{CHAT}/updates", headers=auth(tb), params={"since": 0})).json()
    assert [c["channel_id"] for c in presence["presence"]] == [pm]


async def test_pm_rules_blocks_friends_only_restricted_silenced(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    a, ta, b, tb = await two_users(app)
    db = services(app).db
    r = await client.post(f"{CHAT}/new", headers=auth(ta), data={"target_id": b, "message": "1"})
    pm = r.json()["new_channel_id"]
    before = await chat_db.count_messages(db)

    await users_db.set_relation(db, b, a, users_db.RELATION_BLOCK)
    for attempt in (
        client.post(f"{CHAT}/new", headers=auth(ta), data={"target_id": b, "message": "2"}),
        client.post(f"{CHAT}/channels/{pm}/messages", headers=auth(ta), data={"message": "2"}),
        client.post(f"{CHAT}/channels/{pm}/messages", headers=auth(tb), data={"message": "2"}),
    ):
        r = await attempt
        assert r.status_code == 422
        assert r.json() == {"error": chat.BLOCKED}
    show = (await client.get(f"{CHAT}/channels/{pm}", headers=auth(ta))).json()
    assert show["channel"]["current_user_attributes"]["can_message"] is False
    assert show["channel"]["current_user_attributes"]["can_message_error"] == chat.BLOCKED
    await users_db.delete_relation(db, b, a)

    await users_db.update_user(db, b, pm_friends_only=True)
    await chat.forget_user(services(app), b)
    r = await client.post(f"{CHAT}/channels/{pm}/messages", headers=auth(ta), data={"message": "3"})
    assert r.status_code == 422 and r.json() == {"error": chat.FRIENDS_ONLY}
    await users_db.set_relation(db, b, a, users_db.RELATION_FRIEND)
    r = await client.post(f"{CHAT}/channels/{pm}/messages", headers=auth(ta), data={"message": "3"})
    assert r.status_code == 200
    before += 1

    # A restricted target does not exist as far as chat is concerned.
    await users_db.update_user(db, b, restricted=True)
    await chat.forget_user(services(app), b)
    r = await client.post(f"{CHAT}/channels/{pm}/messages", headers=auth(ta), data={"message": "4"})
    assert r.status_code == 404 and r.json() == {"error": "target user not found"}
    r = await client.post(f"{CHAT}/new", headers=auth(ta), data={"target_id": b, "message": "4"})
    assert r.status_code == 422 and r.json() == {"error": "target user not found"}
    # ... and a restricted sender cannot send anywhere.
    osu = await channel_id(app)
    await join(client, tb, b, osu)
    r = await client.post(
        f"{CHAT}/channels/{osu}/messages", headers=auth(tb), data={"message": "x"}
    )
    assert r.status_code == 422 and r.json() == {"error": chat.RESTRICTED}
    await users_db.update_user(db, b, restricted=False)
    await chat.forget_user(services(app), b)

    # Silenced: refused until the silence ends; `ack` lists it.
    silence_id = await chat.silence(services(app), a, 3600, "spam")
    await join(client, ta, a, osu)
    r = await client.post(
        f"{CHAT}/channels/{osu}/messages", headers=auth(ta), data={"message": "x"}
    )
    assert r.status_code == 422 and r.json() == {"error": chat.RESTRICTED}
    r = await client.post(f"{CHAT}/ack", headers=auth(tb), data={"history_since": 0})
    assert r.json() == {"silences": [{"id": silence_id, "user_id": a}]}
    r = await client.post(f"{CHAT}/ack", headers=auth(tb), data={"history_since": silence_id})
    assert r.json() == {"silences": []}
    r = await client.post(f"{CHAT}/ack", headers=auth(tb), data={"since": 1})
    assert r.json() == {"silences": [{"id": silence_id, "user_id": a}]}
    assert await chat_db.count_messages(db) == before


async def test_bad_input_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    a, ta, b, _ = await two_users(app)
    osu = await channel_id(app)
    await join(client, ta, a, osu)
    url = f"{CHAT}/channels/{osu}/messages"
    cases: list[tuple[dict[str, Any], int, str | None]] = [
        ({"data": {"message": ""}}, 422, chat.EMPTY),
        ({"data": {"message": "   \n\r "}}, 422, chat.EMPTY),
        ({"data": {}}, 422, chat.EMPTY),
        ({"json": {"message": ["a", "b"]}}, 422, chat.EMPTY),
        ({"json": {"message": {"a": 1}}}, 422, chat.EMPTY),
        ({"data": {"message": "x" * 451}}, 422, chat.TOO_LONG),
        ({"data": {"message": "é" * 451}}, 422, chat.TOO_LONG),
        ({"data": {"message": "bell\x07"}}, 422, chat.BAD_CHARACTERS),
        ({"data": {"message": "nul\x00byte"}}, 422, chat.BAD_CHARACTERS),
        ({"json": {"message": "esc\u001b[31m"}}, 422, chat.BAD_CHARACTERS),
        ({"json": {"message": "c1\u0085x"}}, 422, chat.BAD_CHARACTERS),
        (
            {
                "content": b"message=%FF%FEabc",
                "headers": {"content-type": "application/x-www-form-urlencoded"},
            },
            422,
            "The message must be UTF-8 text.",
        ),
        (
            {
                "content": b"message=\xff\xfeabc",
                "headers": {"content-type": "application/x-www-form-urlencoded"},
            },
            422,
            "The message must be UTF-8 text.",
        ),
        (
            {
                "content": b'--b\r\nContent-Disposition: form-data; name="message"\r\n\r\n'
                b"caf\xe9\r\n--b--\r\n",
                "headers": {"content-type": "multipart/form-data; boundary=b"},
            },
            422,
            "The message must be UTF-8 text.",
        ),
        (
            {"content": b'{"message": "\xff"}', "headers": {"content-type": "application/json"}},
            422,
            "The message must be UTF-8 text.",
        ),
        ({"json": {"message": "a", "uuid": "u" * 300}}, 422, "uuid is too long"),
        ({"content": b"x" * 70000, "headers": {"content-type": "text/plain"}}, 413, None),
    ]
    for kwargs, status, message in cases:
        headers = {**auth(ta), **kwargs.pop("headers", {})}
        r = await client.post(url, headers=headers, **kwargs)
        assert r.status_code == status, (kwargs, r.text)
        if message is not None:
            assert r.json() == {"error": message}, kwargs
    # Exactly the limit is fine; so are emoji and right-to-left text (not control characters).
    for ok in ("x" * 450, "👍🏽 مرحبا"):
        r = await client.post(url, headers=auth(ta), data={"message": ok})
        assert r.status_code == 200, r.text
    assert await chat_db.count_messages(services(app).db) == 2

    # Unknown channels, other people's ids, PMs to nobody.
    for method, path, kw in [
        ("GET", f"{CHAT}/channels/999999", {}),
        ("GET", f"{CHAT}/channels/999999/messages", {}),
        ("POST", f"{CHAT}/channels/999999/messages", {"data": {"message": "hi"}}),
        ("PUT", f"{CHAT}/channels/999999/users/{a}", {}),
        ("PUT", f"{CHAT}/channels/999999/mark-as-read/1", {}),
        ("GET", f"{CHAT}/channels/abc", {}),
    ]:
        r = await client.request(method, path, headers=auth(ta), **kw)
        assert r.status_code == 404, (path, r.text)
    r = await client.put(f"{CHAT}/channels/{osu}/users/{b}", headers=auth(ta))
    assert r.status_code == 422
    r = await client.post(
        f"{CHAT}/new", headers=auth(ta), data={"target_id": 999999, "message": "x"}
    )
    assert r.status_code == 422 and r.json() == {"error": "target user not found"}
    r = await client.post(f"{CHAT}/new", headers=auth(ta), data={"target_id": a, "message": "x"})
    assert r.status_code == 422
    r = await client.post(f"{CHAT}/new", headers=auth(ta), data={"message": "x"})
    assert r.status_code == 422
    r = await client.post(
        f"{CHAT}/new", headers=auth(ta), data={"target_id": "bob", "message": "x"}
    )
    assert r.status_code == 422
    r = await client.post(f"{CHAT}/new", headers=auth(ta), data={"target_id": b, "message": ""})
    assert r.status_code == 422 and r.json() == {"error": chat.EMPTY}
    r = await client.post(f"{CHAT}/channels", headers=auth(ta), data={"type": "GROUP"})
    assert r.json() == {"error": "unknown or missing type parameter"} and r.status_code == 422
    r = await client.post(f"{CHAT}/channels", headers=auth(ta), data={"type": "PM"})
    assert r.json() == {"error": "missing target_id parameter"}
    r = await client.post(
        f"{CHAT}/channels",
        headers=auth(ta),
        data={"type": "ANNOUNCE", "channel[name]": "x", "target_ids[]": str(b), "message": "hi"},
    )
    assert r.status_code == 422
    r = await client.get(f"{CHAT}/updates", headers=auth(ta))
    assert r.status_code == 422
    r = await client.get(f"{CHAT}/channels/{osu}/messages", headers=auth(ta), params={"since": "x"})
    assert r.status_code == 422
    # No PM channel came out of any of that, and nothing more was stored.
    assert await chat_db.find_pm(services(app).db, a, b) is None
    assert await chat_db.count_messages(services(app).db) == 2


class TestFlooding:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, dict[str, Any]]:
        return {"chat": {"public_limit": 2, "public_window": 60, "private_limit": 1}}

    async def test_flooding_gets_429_and_is_not_stored(
        self, client: httpx.AsyncClient, app: Starlette
    ) -> None:
        a, ta, b, _ = await two_users(app)
        osu = await channel_id(app)
        await join(client, ta, a, osu)
        url = f"{CHAT}/channels/{osu}/messages"
        statuses = [
            (await client.post(url, headers=auth(ta), data={"message": f"m{i}"})).status_code
            for i in range(4)
        ]
        assert statuses == [200, 200, 429, 429]
        r = await client.post(url, headers=auth(ta), data={"message": "again"})
        assert r.json() == {"error": chat.TOO_FAST}
        assert r.headers["retry-after"] == "60"
        assert await chat_db.count_messages(services(app).db) == 2
        # PMs are counted apart from public messages.
        r = await client.post(
            f"{CHAT}/new", headers=auth(ta), data={"target_id": b, "message": "1"}
        )
        assert r.status_code == 200
        r = await client.post(
            f"{CHAT}/new", headers=auth(ta), data={"target_id": b, "message": "2"}
        )
        assert r.status_code == 429
        assert await chat_db.count_messages(services(app).db) == 3


async def test_scopes(client: httpx.AsyncClient, app: Starlette) -> None:
    a = await create_user(app, "alice")
    osu = await channel_id(app)
    read_only = await issue_token(app, a, ["chat.read"])
    writer = await issue_token(app, a, ["chat.read", "chat.write", "chat.write_manage"])
    public = await issue_token(app, a, ["public"])
    guest = await issue_token(app, None, ["public"])
    assert (await client.get(f"{CHAT}/channels", headers=auth(read_only))).status_code == 200
    r = await client.get(f"{CHAT}/channels", headers=auth(public))
    assert r.status_code == 403 and r.json() == {"error": "A required scope is missing."}
    r = await client.put(f"{CHAT}/channels/{osu}/users/{a}", headers=auth(read_only))
    assert r.status_code == 403
    assert (await join(client, writer, a, osu)).status_code == 200
    r = await client.post(
        f"{CHAT}/channels/{osu}/messages", headers=auth(writer), data={"message": "bot says hi"}
    )
    assert r.status_code == 200
    # Lazer-only routes refuse chat-scoped tokens.
    r = await client.get(f"{CHAT}/updates", headers=auth(writer), params={"since": 0})
    assert r.status_code == 403 and r.json() == {"error": "Invalid scope(s) provided."}
    r = await client.get("/api/v2/notifications", headers=auth(writer))
    assert r.status_code == 403
    r = await client.get(f"{CHAT}/channels")
    assert r.status_code == 401
    r = await client.get(f"{CHAT}/channels", headers=auth(guest))
    assert r.status_code in (401, 403)


class TestAnnouncements:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, dict[str, Any]]:
        return {"chat": {"announcer_ids": ["1"]}}

    async def test_announce_channel(self, client: httpx.AsyncClient, app: Starlette) -> None:
        a, ta, b, tb = await two_users(app)
        assert a == 1
        r = await client.post(
            f"{CHAT}/channels",
            headers=auth(ta),
            data={
                "type": "ANNOUNCE",
                "channel[name]": "Tournament",
                "channel[description]": "Round 1",
                "target_ids[]": [str(b), "999999"],
                "message": "**Match starts**\nin 5 minutes",
            },
        )
        assert r.status_code == 200, r.text
        channel = r.json()
        assert channel["type"] == "ANNOUNCE" and channel["moderated"] is True
        assert channel["message_length_limit"] == 1024
        assert channel["users"] == [a, b]
        [message] = channel["recent_messages"]
        assert message["type"] == "markdown"
        assert message["content"] == "**Match starts**\nin 5 minutes"
        # Members may read but not answer a moderated channel.
        cid = channel["channel_id"]
        show = (await client.get(f"{CHAT}/channels/{cid}", headers=auth(tb))).json()
        assert show["channel"]["current_user_attributes"]["can_message"] is False
        assert show["users"] == []
        r = await client.post(
            f"{CHAT}/channels/{cid}/messages", headers=auth(tb), data={"message": "ok"}
        )
        assert r.status_code == 422 and r.json() == {"error": chat.MODERATED}
        rows = await notify_db.for_user(services(app).db, b)
        assert [n["name"] for n in rows] == ["channel_announcement"]


async def test_public_history_reaches_back_one_day(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    a, ta, _, _ = await two_users(app)
    osu = await channel_id(app)
    await join(client, ta, a, osu)
    old = await chat_db.insert_message(services(app).db, osu, a, "yesterday's news", False)
    await services(app).db.execute(
        chat_db.chat_messages.update()
        .where(chat_db.chat_messages.c.id == old["id"])
        .values(created_at=utcnow() - dt.timedelta(hours=25))
    )
    await client.post(f"{CHAT}/channels/{osu}/messages", headers=auth(ta), data={"message": "now"})
    history = (await client.get(f"{CHAT}/channels/{osu}/messages", headers=auth(ta))).json()
    assert [m["content"] for m in history] == ["now"]
