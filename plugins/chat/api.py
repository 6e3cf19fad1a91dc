"""API v2 chat routes (osu-web app/Http/Controllers/Chat/): parse, call core.chat, serialize."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from core.auth import api_route, require_user
from core.chat import service as chat
from core.chat import store as chat_db
from core.chat.store import ANNOUNCE, PM
from core.http import Params, error, json, no_content, params, unprocessable
from core.openapi import describe
from core.openapi_schemas import INT, array, obj, ref
from core.services import services
from core.users import profiles
from plugins.chat.utf8 import ensure_utf8

V2 = "/api/v2/chat"


def _int_list(values: list[Any]) -> list[int]:
    result = []
    for value in values:
        text = str(value).strip()
        if not text.isdecimal():
            raise unprocessable("target_ids must be user ids")
        result.append(int(text))
    return result


async def _message_params(request: Request) -> tuple[Params, Any, bool, str | None]:
    await ensure_utf8(request)
    p = await params(request)
    content = p.get("message")
    if isinstance(content, list | dict):
        raise unprocessable(chat.EMPTY)
    if content is not None and not isinstance(content, str):
        content = str(content)
    is_action = bool(p.bool("is_action", False))
    uuid = p.str("uuid", max_length=255)
    return p, content, is_action, uuid


# --- channels ----------------------------------------------------------------------------------


@describe(responses={200: array("ChatChannel")})
async def list_channels(request: Request) -> Response:
    user = require_user(request)
    svc = services(request)
    channels = await chat_db.public_channels(svc.db)
    return json([await chat.channel_json(svc, c, user) for c in channels])


@describe(responses={200: obj({"channel": ref("ChatChannel"), "users": array("UserCompact")})})
async def show_channel(request: Request) -> Response:
    user = require_user(request)
    svc = services(request)
    channel, membership = await chat.readable_channel(svc, request.path_params["channel"], user)
    data = await chat.channel_json(svc, channel, user, chat.LISTING, membership=membership)
    user_ids: list[int] = []
    if channel["type"] == PM:
        user_ids = chat_db.pm_user_ids(channel["name"])
    elif channel["type"] == ANNOUNCE and chat.can_announce(svc, user):
        user_ids = await chat_db.member_ids(svc.db, int(channel["id"]))
    rows = list((await chat.users_by_id(svc, user_ids)).values())
    users = await profiles.cards(svc.db, rows, svc.settings) if rows else []
    return json({"channel": data, "users": users})


@describe(responses={200: "ChatChannel"})
async def create_channel(request: Request) -> Response:
    user = require_user(request)
    svc = services(request)
    await ensure_utf8(request)
    p = await params(request)
    kind = (p.str("type") or "").upper()
    if kind == PM:
        target_id = p.int("target_id")
        if target_id is None:
            raise unprocessable("missing target_id parameter")
        target = await chat.pm_target(svc, target_id)
        if target is None:
            raise unprocessable(chat.TARGET_NOT_FOUND)
        if int(target["id"]) == int(user["id"]):
            raise unprocessable("can't send message to same user")
        reason = await chat.start_error(svc, user, target)
        if reason is not None:
            raise chat.forbidden(reason)
        channel, _ = await chat.open_pm(svc, user, target)
        includes = {*chat.LISTING, "recent_messages"}
        return json(await chat.channel_json(svc, channel, user, includes, pm_target=target))
    if kind == ANNOUNCE:
        spec = p.dict("channel")
        name = spec.get("name")
        description = spec.get("description")
        if not isinstance(name, str) or (
            description is not None and not isinstance(description, str)
        ):
            raise unprocessable("channel[name] and channel[description] must be text")
        channel, _ = await chat.announce(
            svc,
            user,
            name=name,
            description=description,
            target_ids=_int_list(p.list("target_ids", max_items=1000)),
            raw_content=p.get("message"),
            uuid=p.str("uuid", max_length=255),
        )
        includes = {*chat.LISTING, "recent_messages"}
        return json(await chat.channel_json(svc, channel, user, includes))
    raise unprocessable("unknown or missing type parameter")


def _self_only(request: Request, user: Any) -> None:
    if int(request.path_params["user"]) != int(user["id"]):
        # Not 403: lazer logs out on any 403 (ppy/osu osu.Game/Online/API/APIAccess.cs).
        raise error(422, "You can only join or leave channels for yourself.")


@describe(responses={200: "ChatChannel"})
async def join_channel(request: Request) -> Response:
    user = require_user(request)
    svc = services(request)
    _self_only(request, user)
    channel = await chat.get_channel(svc, request.path_params["channel"])
    membership = await chat_db.membership(svc.db, int(channel["id"]), int(user["id"]))
    reason = chat.join_error(channel, membership)
    if reason is not None:
        raise chat.forbidden(reason)
    await chat.join(svc, channel, user)
    channel = await chat.get_channel(svc, int(channel["id"]))
    return json(await chat.channel_json(svc, channel, user, chat.LISTING))


async def leave_channel(request: Request) -> Response:
    user = require_user(request)
    svc = services(request)
    _self_only(request, user)
    channel = await chat.get_channel(svc, request.path_params["channel"])
    reason = chat.part_error(channel)
    if reason is not None:
        raise chat.forbidden(reason)
    await chat.part(svc, channel, user)
    return no_content()


async def mark_as_read(request: Request) -> Response:
    user = require_user(request)
    svc = services(request)
    channel, _ = await chat.readable_channel(svc, request.path_params["channel"], user)
    await chat.mark_read(svc, channel, user, request.path_params["message"])
    return no_content()


# --- messages ----------------------------------------------------------------------------------


@describe(
    responses={
        200: {
            "anyOf": [
                array("ChatMessage"),
                obj({"messages": array("ChatMessage"), "users": array("UserCompact")}),
            ]
        }
    }
)
async def list_messages(request: Request) -> Response:
    user = require_user(request)
    svc = services(request)
    p = await params(request)
    channel, _ = await chat.readable_channel(svc, request.path_params["channel"], user)
    # osu-web clamps the limit instead of refusing it.
    limit = max(1, min(50, p.int("limit", 50) or 50))
    found = await chat.history(
        svc, channel, limit=limit, since=p.int("since"), until=p.int("until")
    )
    messages, users = await chat.messages_with_senders(svc, found, channel["type"])
    if p.bool("return_object", False):
        plain = [{k: v for k, v in m.items() if k != "sender"} for m in messages]
        return json({"messages": plain, "users": users})
    return json(messages)


# 429: the per-user message window (`[chat] public_limit`, `private_limit`).
@describe(responses={200: "ChatMessage", 429: "Error"})
async def post_message(request: Request) -> Response:
    user = require_user(request)
    svc = services(request)
    _, content, is_action, uuid = await _message_params(request)
    channel = await chat.get_channel(svc, request.path_params["channel"])
    message = await chat.send(svc, user, channel, content, is_action=is_action, uuid=uuid)
    return json(message)


@describe(
    responses={
        200: obj(
            {"channel": ref("ChatChannel"), "message": ref("ChatMessage"), "new_channel_id": INT}
        ),
        429: "Error",
    }
)
async def new_conversation(request: Request) -> Response:
    user = require_user(request)
    svc = services(request)
    p, content, is_action, uuid = await _message_params(request)
    target_id = p.int("target_id")
    if target_id is None:
        raise unprocessable("missing target_id parameter")
    channel, message = await chat.send_pm(
        svc, user, target_id, content, is_action=is_action, uuid=uuid
    )
    includes = ("current_user_attributes", "last_message_id", "users")
    return json(
        {
            "channel": await chat.channel_json(svc, channel, user, includes),
            "message": message,
            "new_channel_id": int(channel["id"]),
        }
    )


# --- keep-alive and updates --------------------------------------------------------------------


@describe(responses={200: obj({"silences": array("ChatSilence")})})
async def ack(request: Request) -> Response:
    require_user(request)
    p = await params(request)
    silences = await chat.silences_for_ack(
        services(request), p.int("since"), p.int("history_since")
    )
    return json({"silences": silences})


INCLUDES = ("messages", "presence", "silences")


@describe(
    responses={
        200: obj(
            {},
            optional={
                "presence": array("ChatChannel"),
                "silences": array("ChatSilence"),
                "messages": array("ChatMessage"),
            },
        )
    }
)
async def updates(request: Request) -> Response:
    user = require_user(request)
    svc = services(request)
    p = await params(request)
    since = p.int("since")
    history_since = p.int("history_since")
    requested = [str(i) for i in p.list("includes")]
    wanted = {i for i in requested if i in INCLUDES} if requested else set(INCLUDES)
    if since is None and ("messages" in wanted or ("silences" in wanted and history_since is None)):
        raise unprocessable("since is required")
    body: dict[str, Any] = {}
    if "presence" in wanted:
        body["presence"] = await chat.presence(svc, user)
    if "silences" in wanted:
        body["silences"] = await chat.silences_for_ack(svc, since, history_since)
    if "messages" in wanted:
        # Messages arrive through the websocket; the field stays for old clients (as in osu-web).
        body["messages"] = []
    return json(body)


@describe(responses={200: array("ChatChannel")})
async def presence(request: Request) -> Response:
    user = require_user(request)
    return json(await chat.presence(services(request), user))


CHANNEL = V2 + "/channels/{channel:int}"

ROUTES = [
    api_route(V2 + "/ack", ack, methods=["POST"], scope="chat.read"),
    api_route(V2 + "/new", new_conversation, methods=["POST"], scope="chat.write"),
    api_route(V2 + "/updates", updates, scope="*"),
    api_route(V2 + "/presence", presence, scope="*"),
    api_route(V2 + "/channels", list_channels, scope="chat.read"),
    api_route(V2 + "/channels", create_channel, methods=["POST"], scope="chat.write_manage"),
    api_route(CHANNEL, show_channel, scope="chat.read"),
    api_route(
        CHANNEL + "/users/{user:int}", join_channel, methods=["PUT"], scope="chat.write_manage"
    ),
    api_route(
        CHANNEL + "/users/{user:int}",
        leave_channel,
        methods=["DELETE"],
        scope="chat.write_manage",
        name="leave_channel",
    ),
    api_route(CHANNEL + "/messages", list_messages, scope="chat.read"),
    api_route(CHANNEL + "/messages", post_message, methods=["POST"], scope="chat.write"),
    api_route(
        CHANNEL + "/mark-as-read/{message:int}", mark_as_read, methods=["PUT"], scope="chat.read"
    ),
]
