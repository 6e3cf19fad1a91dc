"""Notifications with per-user read state, and the bus that feeds the notification websocket.

Tables and their SQL, plus `publish_*`: every event for a websocket goes through the cache's
pub/sub on one channel (`BUS`), so a message posted on one worker reaches sockets held by any
other. The websocket side (plugins/chat) reads `decode` envelopes and hands each frame to the
connections it names. Anything may notify users: `notify(state, ...)` stores and pushes `new`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from databases import Database

from core.db import utcnow
from core.http import time_offset
from core.schema import TABLE_ARGS, metadata
from core.services import Services
from core.users.store import record

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("object_type", sa.String(32), nullable=False),
    sa.Column("object_id", sa.BigInteger(), nullable=False),
    sa.Column("source_user_id", sa.BigInteger(), nullable=True),
    sa.Column("details", sa.Text(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Index("ix_notifications_object_type_object_id", "object_type", "object_id"),
    **TABLE_ARGS,
)

user_notifications = sa.Table(
    "user_notifications",
    metadata,
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "notification_id",
        sa.BigInteger(),
        sa.ForeignKey("notifications.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    sa.Column("is_read", sa.Boolean(), nullable=False, default=False),
    **TABLE_ARGS,
)

# osu-web groups notification names into categories (stacks and mark-read identities use them).
CATEGORIES = {
    "beatmap_owner_change": "beatmap_owner_change",
    "beatmapset_discussion_lock": "beatmapset_discussion",
    "beatmapset_discussion_post_new": "beatmapset_discussion",
    "beatmapset_discussion_qualified_problem": "beatmapset_problem",
    "beatmapset_discussion_review_new": "beatmapset_discussion",
    "beatmapset_discussion_unlock": "beatmapset_discussion",
    "beatmapset_disqualify": "beatmapset_state",
    "beatmapset_love": "beatmapset_state",
    "beatmapset_nominate": "beatmapset_state",
    "beatmapset_qualify": "beatmapset_state",
    "beatmapset_rank": "beatmapset_state",
    "beatmapset_remove_from_loved": "beatmapset_state",
    "beatmapset_reset_nominations": "beatmapset_state",
    "channel_announcement": "announcement",
    "channel_mention": "channel",
    "channel_message": "channel",
    "channel_team": "channel_team",
    "comment_new": "comment",
    "forum_topic_reply": "forum_topic_reply",
    "news_post_new": "news_post",
    "team_application_accept": "team_application",
    "team_application_reject": "team_application",
    "team_application_store": "team_application",
    "user_achievement_unlock": "user_achievement_unlock",
    "user_beatmapset_new": "user_beatmapset_new",
    "user_beatmapset_revive": "user_beatmapset_new",
}


def category(name: str) -> str:
    return CATEGORIES.get(name, name)


def shape(row: Mapping[str, Any]) -> dict[str, Any]:
    """Notification (osu-web NotificationTransformer.php) from a notification + user row."""
    details = row["details"]
    return {
        "id": int(row["id"]),
        "name": row["name"],
        "created_at": time_offset(row["created_at"]),
        "object_type": row["object_type"],
        "object_id": int(row["object_id"]),
        "source_user_id": row["source_user_id"],
        "is_read": bool(row["is_read"]),
        "details": orjson.loads(details) if isinstance(details, str | bytes) else details,
    }


# --- SQL ---------------------------------------------------------------------------------------


async def insert(
    db: Database,
    user_ids: Iterable[int],
    *,
    name: str,
    object_type: str,
    object_id: int,
    source_user_id: int | None,
    details: Mapping[str, Any],
) -> dict[str, Any]:
    """Store one notification for `user_ids`; returns the row (unread) for shaping."""
    now = utcnow()
    encoded = orjson.dumps(dict(details)).decode()
    receivers = list(dict.fromkeys(int(u) for u in user_ids))
    async with db.transaction():
        notification_id = int(
            await db.execute(
                notifications.insert().values(
                    name=name,
                    object_type=object_type,
                    object_id=object_id,
                    source_user_id=source_user_id,
                    details=encoded,
                    created_at=now,
                )
            )
        )
        if receivers:
            await db.execute_many(
                user_notifications.insert(),
                [
                    {"user_id": u, "notification_id": notification_id, "is_read": False}
                    for u in receivers
                ],
            )
    return {
        "id": notification_id,
        "name": name,
        "object_type": object_type,
        "object_id": object_id,
        "source_user_id": source_user_id,
        "details": encoded,
        "created_at": now,
        "is_read": False,
    }


def _joined() -> sa.Select[Any]:
    return sa.select(
        notifications.c.id,
        notifications.c.name,
        notifications.c.object_type,
        notifications.c.object_id,
        notifications.c.source_user_id,
        notifications.c.details,
        notifications.c.created_at,
        user_notifications.c.is_read,
    ).select_from(
        notifications.join(
            user_notifications, user_notifications.c.notification_id == notifications.c.id
        )
    )


async def for_user(
    db: Database,
    user_id: int,
    *,
    max_id: int | None = None,
    unread_only: bool = False,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Newest first; one more than `limit` may come back so the caller can tell `has_more`."""
    query = _joined().where(user_notifications.c.user_id == user_id)
    if max_id is not None:
        query = query.where(notifications.c.id <= max_id)
    if unread_only:
        query = query.where(user_notifications.c.is_read.is_(False))
    query = query.order_by(notifications.c.id.desc()).limit(limit + 1)
    return [record(r) for r in await db.fetch_all(query)]


async def unread_count(db: Database, user_id: int) -> int:
    return int(
        await db.fetch_val(
            sa.select(sa.func.count())
            .select_from(user_notifications)
            .where(
                user_notifications.c.user_id == user_id,
                user_notifications.c.is_read.is_(False),
            )
        )
        or 0
    )


async def mark_read_ids(db: Database, user_id: int, ids: Sequence[int]) -> list[int]:
    """Mark the user's notifications `ids` read; returns those that were unread."""
    if not ids:
        return []
    rows = await db.fetch_all(
        sa.select(user_notifications.c.notification_id).where(
            user_notifications.c.user_id == user_id,
            user_notifications.c.notification_id.in_(list(set(ids))),
            user_notifications.c.is_read.is_(False),
        )
    )
    return await _mark(db, user_id, [int(r[0]) for r in rows])


async def mark_read_identity(
    db: Database,
    user_id: int,
    *,
    category_name: str | None,
    object_type: str | None,
    object_id: int | None,
) -> list[int]:
    """Mark read every unread notification of the user matching an identity (None: any)."""
    query = sa.select(notifications.c.id, notifications.c.name).select_from(
        notifications.join(
            user_notifications, user_notifications.c.notification_id == notifications.c.id
        )
    )
    query = query.where(
        user_notifications.c.user_id == user_id, user_notifications.c.is_read.is_(False)
    )
    if object_type is not None:
        query = query.where(notifications.c.object_type == object_type)
    if object_id is not None:
        query = query.where(notifications.c.object_id == object_id)
    rows = await db.fetch_all(query)
    ids = [
        int(r["id"]) for r in rows if category_name is None or category(r["name"]) == category_name
    ]
    return await _mark(db, user_id, ids)


async def _mark(db: Database, user_id: int, ids: list[int]) -> list[int]:
    if ids:
        await db.execute(
            user_notifications.update()
            .where(
                user_notifications.c.user_id == user_id,
                user_notifications.c.notification_id.in_(ids),
            )
            .values(is_read=True)
        )
    return ids


# --- the websocket bus -------------------------------------------------------------------------

BUS = "notification:bus"

# Envelope kinds: a header line of JSON, a newline, then the exact text frame to send.
TO_USERS = "users"  # every socket of these users
TO_CHANNEL = "channel"  # chat-started sockets whose user is in the channel
LOGOUT = "logout"  # send `logout` and close the users' sockets (optionally one token's)


def frame(event: str, data: Any = None, **extra: Any) -> bytes:
    body: dict[str, Any] = {"event": event}
    if data is not None:
        body["data"] = data
    body.update(extra)
    return orjson.dumps(body)


def envelope(header: Mapping[str, Any], text: bytes = b"") -> bytes:
    return orjson.dumps(dict(header)) + b"\n" + text


def decode(data: bytes) -> tuple[dict[str, Any], bytes]:
    head, _, text = data.partition(b"\n")
    return orjson.loads(head), text


async def publish_to_users(
    cache: Any,
    user_ids: Iterable[int],
    text: bytes,
    *,
    chat: bool = False,
    join: int | None = None,
    part: int | None = None,
    keep: bool = False,
) -> None:
    """A frame for every socket of `user_ids`.

    `chat`: only sockets that sent `chat.start`. `join`/`part`: the channel id the sockets start
    or stop receiving messages of (`keep` on a part: the membership is only hidden, so new
    messages still arrive and unhide it).
    """
    header: dict[str, Any] = {"k": TO_USERS, "u": [int(u) for u in user_ids], "chat": chat}
    if join is not None:
        header["join"] = int(join)
    if part is not None:
        header["part"] = int(part)
        header["keep"] = keep
    await cache.publish(BUS, envelope(header, text))


async def publish_to_channel(cache: Any, channel_id: int, text: bytes) -> None:
    await cache.publish(BUS, envelope({"k": TO_CHANNEL, "c": int(channel_id)}, text))


async def publish_logout(cache: Any, user_id: int, token_ids: Sequence[str] = ()) -> None:
    """End the user's sockets (only those of `token_ids` when given) with `{"event":"logout"}`."""
    header = {"k": LOGOUT, "u": [int(user_id)], "tokens": list(token_ids)}
    await cache.publish(BUS, envelope(header, frame("logout")))


async def notify(
    svc: Services,
    user_ids: Iterable[int],
    *,
    name: str,
    object_type: str,
    object_id: int,
    source_user_id: int | None = None,
    details: Mapping[str, Any] | None = None,
) -> int:
    """Store a notification for `user_ids` and push it to their sockets as `new`."""
    receivers = [int(u) for u in user_ids if source_user_id is None or int(u) != source_user_id]
    if not receivers:
        return 0
    row = await insert(
        svc.db,
        receivers,
        name=name,
        object_type=object_type,
        object_id=object_id,
        source_user_id=source_user_id,
        details=details or {},
    )
    await publish_to_users(svc.cache, receivers, frame("new", shape(row)))
    return int(row["id"])
