"""The moderation tables (audit log, groups and their members, badges) and the SQL over them.

Groups and memberships follow ppy/osu-web `app/Models/Group.php` and `UserGroup.php` (the
`groups` and `user_groups` of osu-web's database); badges follow `app/Models/UserBadge.php`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from databases import Database

from core.db import as_rows, utcnow
from core.schema import TABLE_ARGS, metadata

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Row = Mapping[str, Any]

MAX_REASON = 255

# Who did what to whom, why and when. `actor_id` is None for the operator's command line
# (`actor_name` "cli"); the target is kept without a foreign key so the log outlives accounts.
moderation_log = sa.Table(
    "moderation_log",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("actor_id", sa.BigInteger(), nullable=True),
    sa.Column("actor_name", sa.String(32), nullable=False),
    sa.Column("user_id", sa.BigInteger(), nullable=True, index=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("reason", sa.String(MAX_REASON), nullable=True),
    # JSON: what the action needs to be understood later (duration, score id, new name, ...).
    sa.Column("details", sa.Text(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False, index=True),
    **TABLE_ARGS,
)

groups = sa.Table(
    "groups",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("identifier", sa.String(32), nullable=False, unique=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("short_name", sa.String(8), nullable=False),
    # "#RRGGBB" or None.
    sa.Column("colour", sa.String(7), nullable=True),
    sa.Column("description", sa.String(255), nullable=True),
    sa.Column("has_listing", sa.Boolean(), nullable=False),
    sa.Column("has_playmodes", sa.Boolean(), nullable=False),
    # The groups the server ships (admin, gmt, nat, bot): never deleted.
    sa.Column("builtin", sa.Boolean(), nullable=False),
    **TABLE_ARGS,
)

user_groups = sa.Table(
    "user_groups",
    metadata,
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "group_id",
        sa.BigInteger(),
        sa.ForeignKey("groups.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    # Comma-separated ruleset names for groups with playmodes; None: not per ruleset.
    sa.Column("playmodes", sa.String(64), nullable=True),
    sa.Column("is_probationary", sa.Boolean(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    **TABLE_ARGS,
)

badges = sa.Table(
    "badges",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("description", sa.String(255), nullable=False),
    sa.Column("image_url", sa.String(255), nullable=False),
    sa.Column("url", sa.String(255), nullable=False),
    sa.Column("awarded_at", sa.DateTime(), nullable=False),
    **TABLE_ARGS,
)

# The groups every server has, with osu-web's identifiers and ids where osu.ppy.sh has them
# (gmt 4, nat 7); the migration inserts these rows.
BUILTIN_GROUPS: tuple[dict[str, Any], ...] = (
    {
        "id": 1,
        "identifier": "admin",
        "name": "Administrators",
        "short_name": "ADM",
        "colour": "#E45678",
        "description": "Runs this server; may use every moderation action.",
        "has_listing": False,
        "has_playmodes": False,
        "builtin": True,
    },
    {
        "id": 4,
        "identifier": "gmt",
        "name": "Global Moderation Team",
        "short_name": "GMT",
        "colour": "#99EB47",
        "description": "Moderates chat and players; silences, restricts and handles reports.",
        "has_listing": True,
        "has_playmodes": False,
        "builtin": True,
    },
    {
        "id": 7,
        "identifier": "nat",
        "name": "Nomination Assessment Team",
        "short_name": "NAT",
        "colour": "#FA3703",
        "description": None,
        "has_listing": True,
        "has_playmodes": True,
        "builtin": True,
    },
    {
        "id": 29,
        "identifier": "bot",
        "name": "Chat Bots",
        "short_name": "BOT",
        "colour": None,
        "description": None,
        "has_listing": False,
        "has_playmodes": False,
        "builtin": True,
    },
)


def _plain(row: Any) -> dict[str, Any]:
    return {str(k): row[k] for k in row.keys()}


# --- audit log ---------------------------------------------------------------------------------


async def log(
    db: Database,
    *,
    actor_id: int | None,
    actor_name: str,
    user_id: int | None,
    action: str,
    reason: str | None,
    details: Mapping[str, Any] | None = None,
) -> int:
    return int(
        await db.execute(
            moderation_log.insert().values(
                actor_id=actor_id,
                actor_name=actor_name[:32],
                user_id=user_id,
                action=action,
                reason=None if reason is None else reason[:MAX_REASON],
                details=orjson.dumps(dict(details or {})).decode(),
                created_at=utcnow(),
            )
        )
    )


async def log_entries(
    db: Database,
    *,
    user_id: int | None = None,
    action: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Newest first; `before_id` pages on."""
    query = sa.select(moderation_log)
    if user_id is not None:
        query = query.where(moderation_log.c.user_id == user_id)
    if action is not None:
        query = query.where(moderation_log.c.action == action)
    if before_id is not None:
        query = query.where(moderation_log.c.id < before_id)
    rows = await db.fetch_all(query.order_by(moderation_log.c.id.desc()).limit(limit))
    result = []
    for row in as_rows(rows):
        entry = _plain(row)
        entry["details"] = orjson.loads(entry["details"])
        result.append(entry)
    return result


# --- groups ------------------------------------------------------------------------------------


async def all_groups(db: Database) -> list[dict[str, Any]]:
    rows = await db.fetch_all(sa.select(groups).order_by(groups.c.id))
    return [_plain(r) for r in rows]


async def group_by_identifier(db: Database, identifier: str) -> dict[str, Any] | None:
    row = await db.fetch_one(sa.select(groups).where(groups.c.identifier == identifier.lower()))
    return None if row is None else _plain(row)


async def create_group(db: Database, **values: Any) -> int:
    return int(await db.execute(groups.insert().values(builtin=False, **values)))


async def update_group(db: Database, group_id: int, **values: Any) -> None:
    await db.execute(groups.update().where(groups.c.id == group_id).values(**values))


async def delete_group(db: Database, group_id: int) -> None:
    async with db.transaction():
        await db.execute(user_groups.delete().where(user_groups.c.group_id == group_id))
        await db.execute(groups.delete().where(groups.c.id == group_id))


async def add_member(
    db: Database,
    user_id: int,
    group_id: int,
    *,
    playmodes: Sequence[str] | None = None,
    probationary: bool = False,
) -> bool:
    """Add or update a membership; True when it is new."""
    values = {
        "playmodes": ",".join(playmodes) if playmodes else None,
        "is_probationary": probationary,
    }
    where = sa.and_(user_groups.c.user_id == user_id, user_groups.c.group_id == group_id)
    async with db.transaction():
        exists = await db.fetch_val(sa.select(user_groups.c.user_id).where(where))
        if exists is not None:
            await db.execute(user_groups.update().where(where).values(**values))
            return False
        await db.execute(
            user_groups.insert().values(
                user_id=user_id, group_id=group_id, created_at=utcnow(), **values
            )
        )
    return True


async def remove_member(db: Database, user_id: int, group_id: int) -> bool:
    result = await db.execute(
        user_groups.delete().where(
            user_groups.c.user_id == user_id, user_groups.c.group_id == group_id
        )
    )
    return bool(result)


async def group_identifiers(db: Database, user_id: int) -> set[str]:
    rows = await db.fetch_all(
        sa.select(groups.c.identifier)
        .select_from(user_groups.join(groups, groups.c.id == user_groups.c.group_id))
        .where(user_groups.c.user_id == user_id)
    )
    return {str(r[0]) for r in rows}


async def memberships(db: Database, user_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Each user's groups with the membership's playmodes and probation, by group id."""
    result: dict[int, list[dict[str, Any]]] = {int(u): [] for u in user_ids}
    if not user_ids:
        return result
    rows = await db.fetch_all(
        sa.select(
            groups,
            user_groups.c.user_id,
            user_groups.c.playmodes.label("member_playmodes"),
            user_groups.c.is_probationary,
        )
        .select_from(user_groups.join(groups, groups.c.id == user_groups.c.group_id))
        .where(user_groups.c.user_id.in_(list(set(user_ids))))
        .order_by(groups.c.id)
    )
    for row in rows:
        result[int(row["user_id"])].append(_plain(row))
    return result


async def members(db: Database, group_id: int) -> list[int]:
    rows = await db.fetch_all(
        sa.select(user_groups.c.user_id)
        .where(user_groups.c.group_id == group_id)
        .order_by(user_groups.c.user_id)
    )
    return [int(r[0]) for r in rows]


# --- badges ------------------------------------------------------------------------------------


async def add_badge(
    db: Database, user_id: int, *, description: str, image_url: str, url: str
) -> int:
    return int(
        await db.execute(
            badges.insert().values(
                user_id=user_id,
                description=description,
                image_url=image_url,
                url=url,
                awarded_at=utcnow(),
            )
        )
    )


async def get_badge(db: Database, badge_id: int) -> dict[str, Any] | None:
    row = await db.fetch_one(sa.select(badges).where(badges.c.id == badge_id))
    return None if row is None else _plain(row)


async def remove_badge(db: Database, badge_id: int) -> bool:
    return bool(await db.execute(badges.delete().where(badges.c.id == badge_id)))


async def user_badges(db: Database, user_id: int) -> list[dict[str, Any]]:
    """Newest first (osu-web orders a profile's badges by award date, newest first)."""
    rows = await db.fetch_all(
        sa.select(badges)
        .where(badges.c.user_id == user_id)
        .order_by(badges.c.awarded_at.desc(), badges.c.id.desc())
    )
    return [_plain(r) for r in rows]


async def ensure_builtin_groups(db: Database) -> None:
    """Put back any built-in group that is missing (the migration made them; a database emptied
    or restored from elsewhere may lack them). Safe when several workers start at once."""
    present = {g["identifier"] for g in await all_groups(db)}
    for group in BUILTIN_GROUPS:
        if group["identifier"] in present:
            continue
        taken = await db.fetch_val(sa.select(groups.c.id).where(groups.c.id == group["id"]))
        values = dict(group) if taken is None else {k: v for k, v in group.items() if k != "id"}
        try:
            await db.execute(groups.insert().values(**values))
        except Exception:
            # Another worker put it back first (the driver's own IntegrityError): fine if so.
            if await group_by_identifier(db, group["identifier"]) is None:
                raise
