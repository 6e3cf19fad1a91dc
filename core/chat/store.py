"""Chat: channels, memberships with their read marker, messages and silences.

Tables here, and the SQL that reads and writes them. The rules (who may send what, rate limits,
the JSON shapes and the websocket events) are in `core.chat`; multiplayer creates its room
channels through `create_channel` with type MULTIPLAYER.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from databases import Database

from core.db import utcnow
from core.schema import TABLE_ARGS, metadata
from core.users.store import record

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

PUBLIC = "PUBLIC"
PRIVATE = "PRIVATE"
MULTIPLAYER = "MULTIPLAYER"
SPECTATOR = "SPECTATOR"
TEMPORARY = "TEMPORARY"
PM = "PM"
GROUP = "GROUP"
ANNOUNCE = "ANNOUNCE"
TEAM = "TEAM"
TYPES = frozenset({PUBLIC, PRIVATE, MULTIPLAYER, SPECTATOR, TEMPORARY, PM, GROUP, ANNOUNCE, TEAM})
# Leaving one of these hides it instead of dropping the membership; a new message unhides it.
HIDEABLE = frozenset({PM, ANNOUNCE})

# Announcement bodies are limited by this column (osu-web: Channel::ANNOUNCE_MESSAGE_LENGTH_LIMIT).
MAX_CONTENT = 1024

chat_channels = sa.Table(
    "chat_channels",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    # PM channels are named `#pm_<low id>-<high id>`, multiplayer ones `#lazermp_<room id>`.
    sa.Column("name", sa.String(64), nullable=False, index=True),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("description", sa.String(255), nullable=True),
    sa.Column("moderated", sa.Boolean(), nullable=False, default=False),
    sa.Column("room_id", sa.BigInteger(), nullable=True, index=True),
    sa.Column("last_message_id", sa.BigInteger(), nullable=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    **TABLE_ARGS,
)

chat_channel_users = sa.Table(
    "chat_channel_users",
    metadata,
    sa.Column(
        "channel_id",
        sa.BigInteger(),
        sa.ForeignKey("chat_channels.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    sa.Column("last_read_id", sa.BigInteger(), nullable=True),
    sa.Column("hidden", sa.Boolean(), nullable=False, default=False),
    sa.Column("joined_at", sa.DateTime(), nullable=False),
    **TABLE_ARGS,
)

chat_messages = sa.Table(
    "chat_messages",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column(
        "channel_id",
        sa.BigInteger(),
        sa.ForeignKey("chat_channels.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("content", sa.String(MAX_CONTENT), nullable=False),
    sa.Column("is_action", sa.Boolean(), nullable=False, default=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    # History pages walk one channel by id.
    sa.Index("ix_chat_messages_channel_id_id", "channel_id", "id"),
    **TABLE_ARGS,
)

# A silence is a user account history entry; its id is what `/chat/ack` pages by.
chat_silences = sa.Table(
    "chat_silences",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("actor_id", sa.BigInteger(), nullable=True),
    sa.Column("reason", sa.String(255), nullable=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("ends_at", sa.DateTime(), nullable=False),
    **TABLE_ARGS,
)


def pm_name(user_a: int, user_b: int) -> str:
    low, high = sorted((int(user_a), int(user_b)))
    return f"#pm_{low}-{high}"


def pm_user_ids(name: str) -> list[int]:
    """The two user ids a PM channel name holds (empty for anything else)."""
    if not name.startswith("#pm_"):
        return []
    parts = name[4:].split("-")
    if len(parts) != 2 or not all(p.isdecimal() for p in parts):
        return []
    return [int(p) for p in parts]


def _channel(row: Any) -> dict[str, Any] | None:
    if row is None:
        return None
    result = record(row)
    result["moderated"] = bool(result["moderated"])
    if "hidden" in result and result["hidden"] is not None:
        result["hidden"] = bool(result["hidden"])
    return result


# --- channels ----------------------------------------------------------------------------------


async def get_channel(db: Database, channel_id: int) -> dict[str, Any] | None:
    return _channel(
        await db.fetch_one(chat_channels.select().where(chat_channels.c.id == channel_id))
    )


async def find_channel(db: Database, name: str, type_: str) -> dict[str, Any] | None:
    query = (
        chat_channels.select()
        .where(chat_channels.c.name == name, chat_channels.c.type == type_)
        .order_by(chat_channels.c.id)
        .limit(1)
    )
    return _channel(await db.fetch_one(query))


async def find_pm(db: Database, user_a: int, user_b: int) -> dict[str, Any] | None:
    return await find_channel(db, pm_name(user_a, user_b), PM)


async def public_channels(db: Database) -> list[dict[str, Any]]:
    rows = await db.fetch_all(
        chat_channels.select().where(chat_channels.c.type == PUBLIC).order_by(chat_channels.c.id)
    )
    return [c for c in map(_channel, rows) if c is not None]


async def create_channel(
    db: Database,
    *,
    name: str,
    type_: str,
    description: str | None = "",
    moderated: bool = False,
    room_id: int | None = None,
    members: Sequence[int] = (),
) -> int:
    if type_ not in TYPES:
        raise ValueError(f"unknown channel type {type_!r}")
    now = utcnow()
    async with db.transaction():
        channel_id = int(
            await db.execute(
                chat_channels.insert().values(
                    name=name,
                    type=type_,
                    description=description,
                    moderated=moderated,
                    room_id=room_id,
                    created_at=now,
                )
            )
        )
        if members:
            await db.execute_many(
                chat_channel_users.insert(),
                [
                    {"channel_id": channel_id, "user_id": int(u), "hidden": False, "joined_at": now}
                    for u in dict.fromkeys(members)
                ],
            )
    return channel_id


async def update_channel(db: Database, channel_id: int, **values: Any) -> None:
    await db.execute(
        chat_channels.update().where(chat_channels.c.id == channel_id).values(**values)
    )


# --- memberships -------------------------------------------------------------------------------


async def membership(db: Database, channel_id: int, user_id: int) -> dict[str, Any] | None:
    row = await db.fetch_one(
        chat_channel_users.select().where(
            chat_channel_users.c.channel_id == channel_id,
            chat_channel_users.c.user_id == user_id,
        )
    )
    if row is None:
        return None
    result = record(row)
    result["hidden"] = bool(result["hidden"])
    return result


async def add_member(db: Database, channel_id: int, user_id: int) -> bool:
    """Join (or unhide); False when the user was a visible member already."""
    current = await membership(db, channel_id, user_id)
    if current is not None:
        if not current["hidden"]:
            return False
        await _set_hidden(db, channel_id, [user_id], False)
        return True
    try:
        await db.execute(
            chat_channel_users.insert().values(
                channel_id=channel_id, user_id=user_id, hidden=False, joined_at=utcnow()
            )
        )
    except Exception:
        # Two joins at once: the other one inserted the row; joined either way.
        if await membership(db, channel_id, user_id) is None:
            raise
        return False
    return True


async def remove_member(db: Database, channel_id: int, user_id: int, *, hide: bool) -> bool:
    """Leave: hide the membership (PM, announce) or drop it; False when not a visible member."""
    current = await membership(db, channel_id, user_id)
    if current is None or current["hidden"]:
        return False
    if hide:
        await _set_hidden(db, channel_id, [user_id], True)
    else:
        await db.execute(
            chat_channel_users.delete().where(
                chat_channel_users.c.channel_id == channel_id,
                chat_channel_users.c.user_id == user_id,
            )
        )
    return True


async def _set_hidden(db: Database, channel_id: int, user_ids: Sequence[int], hidden: bool) -> None:
    await db.execute(
        chat_channel_users.update()
        .where(
            chat_channel_users.c.channel_id == channel_id,
            chat_channel_users.c.user_id.in_(list(user_ids)),
        )
        .values(hidden=hidden)
    )


async def unhide_members(db: Database, channel_id: int) -> list[int]:
    """Unhide every hidden membership of the channel; returns whose."""
    rows = await db.fetch_all(
        sa.select(chat_channel_users.c.user_id).where(
            chat_channel_users.c.channel_id == channel_id,
            chat_channel_users.c.hidden.is_(True),
        )
    )
    ids = [int(r[0]) for r in rows]
    if ids:
        await _set_hidden(db, channel_id, ids, False)
    return ids


async def member_ids(db: Database, channel_id: int) -> list[int]:
    rows = await db.fetch_all(
        sa.select(chat_channel_users.c.user_id)
        .where(chat_channel_users.c.channel_id == channel_id)
        .order_by(chat_channel_users.c.user_id)
    )
    return [int(r[0]) for r in rows]


async def user_channels(db: Database, user_id: int) -> list[dict[str, Any]]:
    """The channels the user has joined and not hidden, each with its `last_read_id`."""
    query = (
        sa.select(chat_channels, chat_channel_users.c.last_read_id)
        .select_from(
            chat_channels.join(
                chat_channel_users, chat_channel_users.c.channel_id == chat_channels.c.id
            )
        )
        .where(chat_channel_users.c.user_id == user_id, chat_channel_users.c.hidden.is_(False))
        .order_by(chat_channels.c.id)
    )
    return [c for c in map(_channel, await db.fetch_all(query)) if c is not None]


async def user_channel_ids(db: Database, user_id: int) -> list[int]:
    """Every channel whose messages reach the user, hidden ones included (they unhide on new)."""
    rows = await db.fetch_all(
        sa.select(chat_channel_users.c.channel_id).where(chat_channel_users.c.user_id == user_id)
    )
    return [int(r[0]) for r in rows]


async def mark_read(db: Database, channel_id: int, user_id: int, message_id: int) -> None:
    """Move the read marker forward to `message_id` (capped at the channel's last message)."""
    last = await db.fetch_val(
        sa.select(sa.func.max(chat_messages.c.id)).where(chat_messages.c.channel_id == channel_id)
    )
    if last is None:
        return
    target = min(int(message_id), int(last))
    await db.execute(
        chat_channel_users.update()
        .where(
            chat_channel_users.c.channel_id == channel_id,
            chat_channel_users.c.user_id == user_id,
            sa.or_(
                chat_channel_users.c.last_read_id.is_(None),
                chat_channel_users.c.last_read_id < target,
            ),
        )
        .values(last_read_id=target)
    )


# --- messages ----------------------------------------------------------------------------------


def _message(row: Any) -> dict[str, Any]:
    result = record(row)
    result["is_action"] = bool(result["is_action"])
    return result


async def insert_message(
    db: Database, channel_id: int, user_id: int, content: str, is_action: bool
) -> dict[str, Any]:
    """Store a message, make it the channel's last one and the sender's read marker."""
    now = utcnow()
    async with db.transaction():
        message_id = int(
            await db.execute(
                chat_messages.insert().values(
                    channel_id=channel_id,
                    user_id=user_id,
                    content=content,
                    is_action=is_action,
                    created_at=now,
                )
            )
        )
        await update_channel(db, channel_id, last_message_id=message_id)
        await db.execute(
            chat_channel_users.update()
            .where(
                chat_channel_users.c.channel_id == channel_id,
                chat_channel_users.c.user_id == user_id,
            )
            .values(last_read_id=message_id)
        )
    return {
        "id": message_id,
        "channel_id": channel_id,
        "user_id": user_id,
        "content": content,
        "is_action": is_action,
        "created_at": now,
    }


async def messages(
    db: Database,
    channel_id: int,
    *,
    limit: int = 50,
    since: int | None = None,
    until: int | None = None,
    not_before: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Oldest first: the first `limit` after `since`, else the last `limit` before `until`."""
    query = chat_messages.select().where(chat_messages.c.channel_id == channel_id)
    if not_before is not None:
        query = query.where(chat_messages.c.created_at > not_before)
    if until is not None:
        query = query.where(chat_messages.c.id < until)
    if since is not None:
        query = query.where(chat_messages.c.id > since).order_by(chat_messages.c.id).limit(limit)
        return [_message(r) for r in await db.fetch_all(query)]
    query = query.order_by(chat_messages.c.id.desc()).limit(limit)
    return [_message(r) for r in reversed(await db.fetch_all(query))]


async def get_message(db: Database, message_id: int) -> dict[str, Any] | None:
    row = await db.fetch_one(chat_messages.select().where(chat_messages.c.id == message_id))
    return None if row is None else _message(row)


async def count_messages(db: Database, channel_id: int | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(chat_messages)
    if channel_id is not None:
        query = query.where(chat_messages.c.channel_id == channel_id)
    return int(await db.fetch_val(query) or 0)


async def time_of_last_message_upto(db: Database, message_id: int) -> dt.datetime | None:
    created_at: dt.datetime | None = await db.fetch_val(
        sa.select(chat_messages.c.created_at)
        .where(chat_messages.c.id <= message_id)
        .order_by(chat_messages.c.id.desc())
        .limit(1)
    )
    return created_at


# --- silences ----------------------------------------------------------------------------------


async def insert_silence(
    db: Database,
    user_id: int,
    ends_at: dt.datetime,
    reason: str | None = None,
    actor_id: int | None = None,
) -> int:
    return int(
        await db.execute(
            chat_silences.insert().values(
                user_id=user_id,
                actor_id=actor_id,
                reason=reason,
                created_at=utcnow(),
                ends_at=ends_at,
            )
        )
    )


async def silences(
    db: Database,
    *,
    after_id: int | None = None,
    after_time: dt.datetime | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Silences newer than a silence id (newest first) or than a point in time."""
    query = sa.select(chat_silences.c.id, chat_silences.c.user_id).limit(limit)
    if after_id is not None:
        query = query.where(chat_silences.c.id > after_id).order_by(chat_silences.c.id.desc())
    elif after_time is not None:
        # Second precision: a silence in the same second as the message counts as after it.
        query = query.where(chat_silences.c.created_at >= after_time).order_by(chat_silences.c.id)
    else:
        return []
    return [{"id": int(r["id"]), "user_id": int(r["user_id"])} for r in await db.fetch_all(query)]


async def end_silences(db: Database, user_id: int) -> None:
    """End the user's running silences now (a silence lifted early)."""
    now = utcnow()
    await db.execute(
        chat_silences.update()
        .where(chat_silences.c.user_id == user_id, chat_silences.c.ends_at > now)
        .values(ends_at=now)
    )
