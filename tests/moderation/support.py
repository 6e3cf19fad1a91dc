"""Moderation test material: an admin, a moderator (gmt), a player and their tokens, and
snapshots of what the moderation tables and the users table hold (to show nothing changed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from starlette.applications import Starlette

from core.moderation import store as moderation_db
from core.reports import store as reports_db
from core.services import services
from core.users import activity
from core.users import store as users_db
from tests.conftest import create_user, issue_token

ADMIN = "/api/private/admin"


@dataclass
class Staff:
    admin: int
    moderator: int
    player: int
    other: int
    admin_token: str
    moderator_token: str
    player_token: str

    def auth(self, who: str) -> dict[str, str]:
        token = {"admin": self.admin_token, "moderator": self.moderator_token}.get(
            who, self.player_token
        )
        return {"Authorization": f"Bearer {token}"}


async def staff(app: Starlette) -> Staff:
    db = services(app).db
    admin = await create_user(app, "boss")
    moderator = await create_user(app, "warden")
    player = await create_user(app, "player")
    other = await create_user(app, "other")
    for user_id, identifier in ((admin, "admin"), (moderator, "gmt")):
        group = await moderation_db.group_by_identifier(db, identifier)
        assert group is not None
        await moderation_db.add_member(db, user_id, int(group["id"]))
    return Staff(
        admin,
        moderator,
        player,
        other,
        await issue_token(app, admin),
        await issue_token(app, moderator),
        await issue_token(app, player),
    )


async def snapshot(app: Starlette) -> dict[str, Any]:
    """Everything moderation writes, to compare before and after a refused request."""
    db = services(app).db
    out: dict[str, Any] = {}
    for table in (
        users_db.users,
        users_db.username_history,
        moderation_db.moderation_log,
        moderation_db.groups,
        moderation_db.user_groups,
        moderation_db.badges,
        activity.account_history,
        reports_db.user_reports,
    ):
        rows = await db.fetch_all(sa.select(table))
        out[table.name] = sorted(
            (tuple(r[k] for k in r.keys()) for r in rows), key=lambda t: str(t)
        )
    return out
