"""Chat rules and operations: who may send what, limits, the JSON shapes and the push events.

The HTTP handlers (plugins/chat) parse and call these; multiplayer may call them too (create a
room channel with `core.chat.store.create_channel`, then `join`/`part`/`send`). Storage is
`core.chat.store`; events reach the websockets through `core.chat.notifications`.
Error texts and statuses follow osu-web (app/Http/Controllers/Chat/).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItemPerSecond
from loguru import logger

from core.auth import forget_user, load_user
from core.chat import notifications as notify_db
from core.chat import store as chat_db
from core.chat.store import ANNOUNCE, HIDEABLE, MULTIPLAYER, PM, PUBLIC
from core.config import Key, Section, Settings
from core.db import utcnow
from core.http import ApiError, error, not_found, time_z, unprocessable
from core.services import Services
from core.users import profiles
from core.users import store as users_db

EMPTY = "Cannot send blank message."
TOO_LONG = "The message you are trying to send is too long."
TOO_FAST = "You are sending messages too quickly, please wait a bit before trying again."
BAD_CHARACTERS = "The message contains characters that cannot be sent."
TARGET_NOT_FOUND = "target user not found"
# resources/lang/en/authorization.php `chat.*`
BLOCKED = "Cannot message a user that is blocking you or that you have blocked."
FRIENDS_ONLY = "User is blocking messages from people not on their friends list."
MODERATED = "That channel is currently moderated."
NO_ACCESS = "You do not have access to that channel."
RESTRICTED = "You cannot send messages while silenced, restricted or banned."

CHANNEL_MODEL = "Chat\\Channel"
NOTIFICATION_TITLE_LENGTH = 36

DEFAULT_DESCRIPTIONS = {
    "#osu": "The official osu! channel (english only).",
    "#lobby": "Multiplayer lobby discussion area.",
}

LISTING = frozenset({"current_user_attributes", "last_read_id", "last_message_id", "users"})


def _channels(value: Any) -> str | None:
    bad = [entry for entry in value if not entry.startswith("#") or len(entry.split("=")[0]) < 2]
    return f"expected '#name' or '#name=description', got {bad[0]!r}" if bad else None


def _ids(value: Any) -> str | None:
    bad = [entry for entry in value if not str(entry).isdecimal()]
    return f"expected user ids, got {bad[0]!r}" if bad else None


def _ws_url(value: Any) -> str | None:
    ok = not value or value.startswith(("ws://", "wss://"))
    return None if ok else f"expected a ws:// or wss:// URL, got {value!r}"


SECTION = Section(
    "chat",
    (
        Key(
            "channels",
            ("#osu", "#lobby"),
            "Public channels of a fresh server: '#name' or '#name=description'.",
            check=_channels,
        ),
        # Announcements allow 1024 (osu-web's column size).
        Key(
            "message_length_limit",
            450,
            "Characters per message.",
            min=1,
            max=chat_db.MAX_CONTENT,
        ),
        # Public channels and PMs are counted apart.
        Key("public_limit", 1, "Public messages per window per user.", min=1),
        Key("public_window", 1, "Seconds of the public message window.", min=1),
        Key("private_limit", 1, "Private messages per window per user.", min=1),
        Key("private_window", 1, "Seconds of the private message window.", min=1),
        Key("public_backlog_hours", 24, "Hours of public channel history served.", min=0),
        Key(
            "announcer_ids",
            (),
            "Users (ids) who may create ANNOUNCE channels besides bot accounts.",
            check=_ids,
        ),
        Key(
            "notification_endpoint",
            "",
            "Websocket URL given to clients; empty: ws(s)://<server.public_url>/notifications/feed.",
            check=_ws_url,
        ),
        # Revoked: `logout`, then close.
        Key("token_check_seconds", 30, "Seconds between re-checks of a websocket's token.", min=1),
        # lazer opens one per running game; one more is refused with close code 1013.
        Key(
            "max_sockets_per_user",
            8,
            "Notification websockets one user may hold at once, over every worker; 0: no limit.",
            min=0,
        ),
        # lazer sends one `chat.start` per connection; the excess gets an `error` frame.
        Key(
            "chat_toggle_limit",
            10,
            "chat.start/chat.end messages one websocket may send per window; 0: no limit.",
            min=0,
        ),
        Key("chat_toggle_window", 60, "Seconds of the chat.start/chat.end window.", min=1),
    ),
    "Chat channels, messages and the notification websocket.",
)


def chat_settings(settings: Settings) -> dict[str, Any]:
    return SECTION.read(settings)


@dataclass(frozen=True)
class Conf:
    length_limit: int
    public: RateLimitItemPerSecond
    private: RateLimitItemPerSecond
    backlog: dt.timedelta
    announcers: frozenset[int]


def conf(svc: Services) -> Conf:
    cached = svc.extra("chat_conf", Conf)
    if cached is None:
        raw = chat_settings(svc.settings)
        cached = Conf(
            length_limit=max(1, min(int(raw["message_length_limit"]), chat_db.MAX_CONTENT)),
            public=RateLimitItemPerSecond(
                max(1, raw["public_limit"]), max(1, raw["public_window"])
            ),
            private=RateLimitItemPerSecond(
                max(1, raw["private_limit"]), max(1, raw["private_window"])
            ),
            backlog=dt.timedelta(hours=raw["public_backlog_hours"]),
            announcers=frozenset(int(i) for i in raw["announcer_ids"] if str(i).isdecimal()),
        )
        svc.extras["chat_conf"] = cached
    return cached


def default_channels(settings: Settings) -> list[tuple[str, str]]:
    result = []
    for entry in chat_settings(settings)["channels"]:
        name, _, description = entry.partition("=")
        name = name.strip()
        if name:
            result.append((name, description.strip() or DEFAULT_DESCRIPTIONS.get(name, "")))
    return result


async def ensure_default_channels(svc: Services) -> None:
    """Create the configured public channels that do not exist yet (once across workers)."""
    wanted = default_channels(svc.settings)
    if not wanted:
        return
    async with svc.cache.lock("chat:default-channels", timeout=30, wait=30):
        for name, description in wanted:
            if await chat_db.find_channel(svc.db, name, PUBLIC) is None:
                await chat_db.create_channel(
                    svc.db, name=name, type_=PUBLIC, description=description
                )


# --- shapes ------------------------------------------------------------------------------------


def message_json(
    message: Mapping[str, Any], channel_type: str, uuid: str | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "channel_id": int(message["channel_id"]),
        "content": message["content"],
        "is_action": bool(message["is_action"]),
        "message_id": int(message["id"]),
        "sender_id": int(message["user_id"]),
        "timestamp": time_z(message["created_at"]),
        "type": "action"
        if message["is_action"]
        else ("markdown" if channel_type == ANNOUNCE else "plain"),
    }
    if uuid:
        out["uuid"] = uuid
    return out


def user_json(svc: Services, row: Mapping[str, Any]) -> dict[str, Any]:
    return profiles.user_compact(row, profiles.accounts_settings(svc.settings))


async def users_by_id(svc: Services, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    rows = await users_db.get_users(svc.db, list({int(i) for i in ids}))
    return {int(r["id"]): r for r in rows}


async def messages_with_senders(
    svc: Services, messages: Sequence[Mapping[str, Any]], channel_type: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(ChatMessage[] each with `sender`, the senders as User[] once each)."""
    senders = await users_by_id(svc, (m["user_id"] for m in messages))
    users = {uid: user_json(svc, row) for uid, row in senders.items()}
    out = []
    for m in messages:
        item = message_json(m, channel_type)
        sender = users.get(int(m["user_id"]))
        if sender is not None:
            item["sender"] = sender
        out.append(item)
    return out, list(users.values())


def can_announce(svc: Services, user: Mapping[str, Any]) -> bool:
    return bool(user.get("is_bot")) or int(user["id"]) in conf(svc).announcers


def other_member(channel: Mapping[str, Any], user_id: int) -> int | None:
    for uid in chat_db.pm_user_ids(channel["name"]):
        if uid != user_id:
            return uid
    return None


async def channel_json(
    svc: Services,
    channel: Mapping[str, Any],
    user: Mapping[str, Any],
    includes: Iterable[str] = (),
    *,
    membership: Mapping[str, Any] | None = None,
    pm_target: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """ChatChannel (osu-web Chat/ChannelTransformer.php) as `user` sees it, with named includes."""
    wanted = set(includes)
    user_id = int(user["id"])
    channel_type = channel["type"]
    name = channel["name"]
    icon = None
    if channel_type == PM:
        if pm_target is None:
            target_id = other_member(channel, user_id)
            pm_target = None if target_id is None else await load_user(svc, target_id)
        if pm_target is not None:
            name = pm_target["username"]
            icon = user_json(svc, pm_target)["avatar_url"]
    out: dict[str, Any] = {
        "channel_id": int(channel["id"]),
        "description": channel["description"],
        "icon": icon,
        "message_length_limit": chat_db.MAX_CONTENT
        if channel_type == ANNOUNCE
        else conf(svc).length_limit,
        "moderated": bool(channel["moderated"]),
        "name": name,
        "type": channel_type,
        "uuid": None,
    }
    if wanted & {"current_user_attributes", "last_read_id"}:
        if membership is None and "last_read_id" in channel:
            membership = {"last_read_id": channel["last_read_id"]}
        if membership is None:
            membership = await chat_db.membership(svc.db, int(channel["id"]), user_id)
        last_read = None if membership is None else membership.get("last_read_id")
        if "current_user_attributes" in wanted:
            reason = await message_error(svc, user, channel, membership is not None, pm_target)
            out["current_user_attributes"] = {
                "can_list_users": channel_type == ANNOUNCE and can_announce(svc, user),
                "can_message": reason is None,
                "can_message_error": reason,
                "last_read_id": last_read,
            }
        if "last_read_id" in wanted:
            out["last_read_id"] = last_read
    if "last_message_id" in wanted:
        out["last_message_id"] = channel["last_message_id"]
    if "users" in wanted:
        if channel_type == PM:
            out["users"] = chat_db.pm_user_ids(channel["name"])
        elif channel_type == ANNOUNCE and can_announce(svc, user):
            out["users"] = await chat_db.member_ids(svc.db, int(channel["id"]))
        else:
            out["users"] = []
    if "recent_messages" in wanted:
        recent = await history(svc, channel, limit=50)
        out["recent_messages"], _ = await messages_with_senders(svc, recent, channel_type)
    return out


# --- permissions -------------------------------------------------------------------------------


def is_silenced(user: Mapping[str, Any]) -> bool:
    """Whether the user's silence (`silenced_until`) is still running."""
    until = user.get("silenced_until")
    return until is not None and until > utcnow()


def record_error(user: Mapping[str, Any]) -> str | None:
    """osu-web's `ensureCleanRecord` for chat: restricted and silenced users cannot send."""
    if user.get("restricted") or is_silenced(user):
        return RESTRICTED
    return None


async def start_error(
    svc: Services, user: Mapping[str, Any], target: Mapping[str, Any]
) -> str | None:
    """osu-web `ChatStart`: may `user` open or continue a PM with `target`?"""
    reason = record_error(user)
    if reason is not None:
        return reason
    user_id, target_id = int(user["id"]), int(target["id"])
    theirs = await users_db.relation(svc.db, target_id, user_id)
    mine = await users_db.relation(svc.db, user_id, target_id)
    if users_db.RELATION_BLOCK in (theirs, mine):
        return BLOCKED
    if target.get("pm_friends_only") and theirs != users_db.RELATION_FRIEND:
        return FRIENDS_ONLY
    return None


async def message_error(
    svc: Services,
    user: Mapping[str, Any],
    channel: Mapping[str, Any],
    is_member: bool,
    pm_target: Mapping[str, Any] | None = None,
) -> str | None:
    """osu-web `ChatChannelSend`: the reason `user` may not message `channel`, or None."""
    reason = record_error(user)
    if reason is not None:
        return reason
    if not is_member:
        return NO_ACCESS
    if channel["moderated"]:
        return MODERATED
    if channel["type"] == PM:
        if pm_target is None:
            target_id = other_member(channel, int(user["id"]))
            pm_target = None if target_id is None else await load_user(svc, target_id)
        if pm_target is None:
            return NO_ACCESS
        return await start_error(svc, user, pm_target)
    return None


def forbidden(reason: str) -> ApiError:
    # osu-web says 403 here, but lazer logs the user out on any 403 (ppy/osu APIAccess.cs):
    # 422 keeps the session and still shows the reason.
    return error(422, reason)


# --- content and limits ------------------------------------------------------------------------

_ALLOWED_CONTROLS = frozenset("\t\n\r")


def clean_content(raw: Any, channel_type: str, limit: int) -> str:
    """The message as stored, or a 422: trimmed, newlines as spaces outside announcements."""
    if not isinstance(raw, str):
        raise unprocessable(EMPTY)
    content = raw.strip()
    if channel_type != ANNOUNCE:
        content = content.replace("\r", " ").replace("\n", " ")
    if not content:
        raise unprocessable(EMPTY)
    for ch in content:
        # Control characters and lone surrogates cannot be shown (nor stored in utf8mb4).
        if ch in _ALLOWED_CONTROLS:
            continue
        if unicodedata.category(ch) in ("Cc", "Cs"):
            raise unprocessable(BAD_CHARACTERS)
    max_length = chat_db.MAX_CONTENT if channel_type == ANNOUNCE else limit
    if len(content) > max_length:
        raise unprocessable(TOO_LONG)
    return content


async def check_rate(svc: Services, user_id: int, private: bool) -> None:
    """osu-web's per-user rolling window, PMs and public messages counted apart."""
    item = conf(svc).private if private else conf(svc).public
    key = f"chat:rate:{user_id}:{'PM' if private else 'PUBLIC'}"
    try:
        allowed = await svc.cache.rolling_hit(key, item.amount, item.get_expiry())
    except Exception as exc:
        # As the request limiter: a counter store outage must not silence everybody.
        logger.warning("chat rate limiter unavailable, not limiting: {!r}", exc)
        return
    if not allowed:
        raise ApiError(429, {"error": TOO_FAST}, {"Retry-After": str(item.multiples)})


# --- reads -------------------------------------------------------------------------------------


async def get_channel(svc: Services, channel_id: int) -> dict[str, Any]:
    channel = await chat_db.get_channel(svc.db, channel_id)
    if channel is None:
        raise not_found(CHANNEL_MODEL)
    return channel


async def readable_channel(
    svc: Services, channel_id: int, user: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(channel, membership) for a member (hidden memberships count); 404 otherwise."""
    channel = await get_channel(svc, channel_id)
    membership = await chat_db.membership(svc.db, channel_id, int(user["id"]))
    if membership is None:
        raise not_found(CHANNEL_MODEL)
    return channel, membership


async def history(
    svc: Services,
    channel: Mapping[str, Any],
    *,
    limit: int = 50,
    since: int | None = None,
    until: int | None = None,
) -> list[dict[str, Any]]:
    not_before = None
    if channel["type"] == PUBLIC:
        not_before = utcnow() - conf(svc).backlog
    return await chat_db.messages(
        svc.db, int(channel["id"]), limit=limit, since=since, until=until, not_before=not_before
    )


async def presence(svc: Services, user: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The user's joined channels with the listing includes; PMs with blocked users left out."""
    user_id = int(user["id"])
    channels = await chat_db.user_channels(svc.db, user_id)
    targets = await users_by_id(
        svc,
        (t for c in channels if c["type"] == PM for t in [other_member(c, user_id)] if t),
    )
    out = []
    for channel in channels:
        target = None
        if channel["type"] == PM:
            target_id = other_member(channel, user_id)
            target = targets.get(target_id) if target_id else None
            if target_id is None or target is None:
                continue
            if target.get("restricted") or target.get("is_deleted"):
                continue
            if await users_db.relation(svc.db, user_id, target_id) == users_db.RELATION_BLOCK:
                continue
        out.append(await channel_json(svc, channel, user, LISTING, pm_target=target))
    return out


# --- membership changes ------------------------------------------------------------------------


async def _push_membership(
    svc: Services, channel: Mapping[str, Any], user: Mapping[str, Any], event: str
) -> None:
    data = await channel_json(
        svc, channel, user, ("current_user_attributes", "last_message_id", "users")
    )
    channel_id = int(channel["id"])
    text = notify_db.frame(event, data)
    if event == "chat.channel.join":
        await notify_db.publish_to_users(
            svc.cache, [int(user["id"])], text, chat=True, join=channel_id
        )
    else:
        keep = channel["type"] in HIDEABLE
        await notify_db.publish_to_users(
            svc.cache, [int(user["id"])], text, chat=True, part=channel_id, keep=keep
        )


# --- unread private messages (Get Own Data's `unread_pm_count`) ----------------------------------

UNREAD_SECONDS = 300


def unread_key(user_id: int) -> str:
    return f"chat:unread-pm:{user_id}"


async def unread_pm_count(svc: Services, user_id: int, cached: bytes | None = None) -> int:
    """Messages from others in the user's private channels past what they read; kept in the
    cache until a message to them, a read marker or a membership change drops it. `cached`:
    the cache's value when the caller has read it already (`core.auth.cached`)."""
    from core.users import activity

    if cached is None:
        cached = await svc.cache.get(unread_key(user_id))
    if cached is not None:
        return int(cached)
    count = await activity.unread_pm_count(svc.db, user_id)
    await svc.cache.set(unread_key(user_id), str(count), ex=UNREAD_SECONDS)
    return count


async def forget_unread(svc: Services, user_ids: Iterable[int]) -> None:
    keys = [unread_key(u) for u in user_ids]
    if keys:
        await svc.cache.delete(*keys)


async def mark_read(
    svc: Services, channel: Mapping[str, Any], user: Mapping[str, Any], message_id: int
) -> None:
    await chat_db.mark_read(svc.db, int(channel["id"]), int(user["id"]), message_id)
    if channel["type"] == PM:
        await forget_unread(svc, [int(user["id"])])


async def join(svc: Services, channel: Mapping[str, Any], user: Mapping[str, Any]) -> bool:
    """Add the user (or unhide their membership) and tell their sockets; False if already in."""
    joined = await chat_db.add_member(svc.db, int(channel["id"]), int(user["id"]))
    if channel["type"] == PM:
        await forget_unread(svc, [int(user["id"])])
    if joined:
        await _push_membership(svc, channel, user, "chat.channel.join")
    return joined


async def part(svc: Services, channel: Mapping[str, Any], user: Mapping[str, Any]) -> bool:
    left = await chat_db.remove_member(
        svc.db, int(channel["id"]), int(user["id"]), hide=channel["type"] in HIDEABLE
    )
    if channel["type"] == PM:
        await forget_unread(svc, [int(user["id"])])
    if left:
        await _push_membership(svc, channel, user, "chat.channel.part")
    return left


def join_error(channel: Mapping[str, Any], membership: Mapping[str, Any] | None) -> str | None:
    """osu-web `ChatChannelJoin`: public channels, or a hidden PM/announcement of one's own."""
    if channel["type"] == MULTIPLAYER:
        return NO_ACCESS  # room channels are joined through the room
    if channel["type"] == PUBLIC:
        return None
    if channel["type"] in HIDEABLE and membership is not None:
        return None
    return NO_ACCESS


def part_error(channel: Mapping[str, Any]) -> str | None:
    return NO_ACCESS if channel["type"] == MULTIPLAYER else None


# --- sending -----------------------------------------------------------------------------------


async def pm_target(svc: Services, target_id: int | None) -> dict[str, Any] | None:
    """The user a PM goes to; restricted and deleted users are treated as absent (osu-web)."""
    if target_id is None:
        return None
    target = await load_user(svc, int(target_id))
    if target is None or target.get("restricted") or target.get("is_deleted"):
        return None
    return target


async def send(
    svc: Services,
    sender: Mapping[str, Any],
    channel: Mapping[str, Any],
    raw_content: Any,
    *,
    is_action: bool = False,
    uuid: str | None = None,
) -> dict[str, Any]:
    """Check, store and deliver a message; returns ChatMessage with `sender`."""
    sender_id = int(sender["id"])
    channel_id = int(channel["id"])
    channel_type = channel["type"]
    if not isinstance(raw_content, str) or not raw_content.strip():
        raise unprocessable(EMPTY)
    target = None
    if channel_type == PM:
        target = await pm_target(svc, other_member(channel, sender_id))
        if target is None:
            raise error(404, TARGET_NOT_FOUND)
    membership = await chat_db.membership(svc.db, channel_id, sender_id)
    reason = await message_error(svc, sender, channel, membership is not None, target)
    if reason is not None:
        raise forbidden(reason)
    content = clean_content(raw_content, channel_type, conf(svc).length_limit)
    await check_rate(svc, sender_id, private=channel_type == PM)
    return await deliver(svc, sender, channel, content, is_action=is_action, uuid=uuid)


async def deliver(
    svc: Services,
    sender: Mapping[str, Any],
    channel: Mapping[str, Any],
    content: str,
    *,
    is_action: bool = False,
    uuid: str | None = None,
) -> dict[str, Any]:
    """Store an already checked message and push it (no permission or limit checks)."""
    sender_id = int(sender["id"])
    channel_id = int(channel["id"])
    channel_type = channel["type"]
    message = await chat_db.insert_message(svc.db, channel_id, sender_id, content, is_action)
    if channel_type in HIDEABLE:
        # Whoever had closed the conversation sees it again; their sockets still receive it.
        await chat_db.unhide_members(svc.db, channel_id)
    sender_json = user_json(svc, sender)
    item = message_json(message, channel_type, uuid)
    text = notify_db.frame("chat.message.new", {"messages": [item], "users": [sender_json]})
    await notify_db.publish_to_channel(svc.cache, channel_id, text)
    if channel_type in (PM, ANNOUNCE):
        await _notify_message(svc, sender, channel, message, sender_json)
    return item | {"sender": sender_json}


async def _notify_message(
    svc: Services,
    sender: Mapping[str, Any],
    channel: Mapping[str, Any],
    message: Mapping[str, Any],
    sender_json: Mapping[str, Any],
) -> None:
    channel_type = channel["type"]
    receivers = [
        u for u in await chat_db.member_ids(svc.db, int(channel["id"])) if u != int(sender["id"])
    ]
    if channel_type == PM:
        await forget_unread(svc, receivers)
    content = message["content"]
    title = (
        content
        if len(content) <= NOTIFICATION_TITLE_LENGTH
        else content[: NOTIFICATION_TITLE_LENGTH - 3] + "..."
    )
    details: dict[str, Any] = {
        "title": title,
        "type": channel_type.lower(),
        "cover_url": sender_json["avatar_url"],
        "username": sender["username"],
    }
    if channel_type == ANNOUNCE:
        details["name"] = channel["name"]
    await notify_db.notify(
        svc,
        receivers,
        name="channel_announcement" if channel_type == ANNOUNCE else "channel_message",
        object_type="channel",
        object_id=int(channel["id"]),
        source_user_id=int(sender["id"]),
        details=details,
    )


async def open_pm(
    svc: Services, sender: Mapping[str, Any], target: Mapping[str, Any]
) -> tuple[dict[str, Any], bool]:
    """Find or create the PM channel of two users; (channel, created). Both get `join` events."""
    sender_id, target_id = int(sender["id"]), int(target["id"])
    low, high = sorted((sender_id, target_id))
    async with svc.cache.lock(f"chat:pm:{low}-{high}", timeout=10, wait=10):
        channel = await chat_db.find_pm(svc.db, sender_id, target_id)
        if channel is None:
            channel_id = await chat_db.create_channel(
                svc.db,
                name=chat_db.pm_name(sender_id, target_id),
                type_=PM,
                description="",
                members=[target_id, sender_id],
            )
            channel = await get_channel(svc, channel_id)
            for member in (target, sender):
                await _push_membership(svc, channel, member, "chat.channel.join")
            return channel, True
    await join(svc, channel, sender)
    return channel, False


async def send_pm(
    svc: Services,
    sender: Mapping[str, Any],
    target_id: int,
    raw_content: Any,
    *,
    is_action: bool = False,
    uuid: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """`POST /chat/new`: every check first, so a refused message leaves no channel behind."""
    target = await pm_target(svc, target_id)
    if target is None:
        raise unprocessable(TARGET_NOT_FOUND)
    if int(target["id"]) == int(sender["id"]):
        raise unprocessable("can't send message to same user")
    if not isinstance(raw_content, str) or not raw_content.strip():
        raise unprocessable(EMPTY)
    reason = await start_error(svc, sender, target)
    if reason is not None:
        raise forbidden(reason)
    content = clean_content(raw_content, PM, conf(svc).length_limit)
    await check_rate(svc, int(sender["id"]), private=True)
    channel, _ = await open_pm(svc, sender, target)
    message = await deliver(svc, sender, channel, content, is_action=is_action, uuid=uuid)
    channel = await get_channel(svc, int(channel["id"]))
    return channel, message


async def announce(
    svc: Services,
    sender: Mapping[str, Any],
    *,
    name: str,
    description: str | None,
    target_ids: Sequence[int],
    raw_content: Any,
    uuid: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An ANNOUNCE channel with the sender and the targets, and its first message."""
    if not can_announce(svc, sender):
        raise forbidden(NO_ACCESS)
    reason = record_error(sender)
    if reason is not None:
        raise forbidden(reason)
    name = name.strip()
    if not name:
        raise unprocessable("channel name is required")
    if len(name) > 50:
        raise unprocessable("channel name is too long")
    users = await users_by_id(svc, target_ids)
    members = [u for u, row in users.items() if not row.get("restricted")]
    if not members:
        raise unprocessable("missing target_ids parameter")
    content = clean_content(raw_content, ANNOUNCE, chat_db.MAX_CONTENT)
    await check_rate(svc, int(sender["id"]), private=False)
    channel_id = await chat_db.create_channel(
        svc.db,
        name=name,
        type_=ANNOUNCE,
        description=(description or "").strip()[:255],
        moderated=True,
        members=[int(sender["id"]), *members],
    )
    channel = await get_channel(svc, channel_id)
    for member in [sender, *(users[u] for u in members)]:
        await _push_membership(svc, channel, member, "chat.channel.join")
    message = await deliver(svc, sender, channel, content, uuid=uuid)
    return await get_channel(svc, channel_id), message


# --- silences ----------------------------------------------------------------------------------


async def silence(
    svc: Services,
    user_id: int,
    seconds: int,
    reason: str | None = None,
    actor_id: int | None = None,
) -> int:
    """Silence a user: a history entry for `/chat/ack`, and no sending until it ends."""
    ends_at = utcnow() + dt.timedelta(seconds=seconds)
    silence_id = await chat_db.insert_silence(svc.db, user_id, ends_at, reason, actor_id)
    await users_db.update_user(svc.db, user_id, silenced_until=ends_at)
    # The user row is cached by core.auth; drop it so the silence applies at once.
    await forget_user(svc, user_id)
    return silence_id


async def silences_for_ack(
    svc: Services, since: int | None, history_since: int | None
) -> list[dict[str, Any]]:
    """osu-web `/chat/ack` and `/chat/updates`: by silence id, else newer than message `since`."""
    if history_since is not None:
        return await chat_db.silences(svc.db, after_id=history_since)
    if since is None:
        return []
    when = await chat_db.time_of_last_message_upto(svc.db, since)
    if when is None:
        return []
    return await chat_db.silences(svc.db, after_time=when)
