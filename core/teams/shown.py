"""A team as its page shows it (osu-web TeamsController::show): the Team shape with its leader,
its members and its statistics per ruleset. Restricted and deleted members are left out, as
their profiles are hidden."""

from __future__ import annotations

from typing import Any

from core.services import Services
from core.teams import store as teams_db
from core.teams import views as team_views
from core.users import profiles
from core.users import store as users_db


async def team(svc: Services, team_id: int) -> dict[str, Any] | None:
    """`GET /api/v2/teams/{team}`'s body, or None for no such team."""
    row = await teams_db.get_team(svc.db, team_id)
    if row is None:
        return None
    ids = await teams_db.member_ids(svc.db, team_id)
    rows = [
        r
        for r in await users_db.get_users(svc.db, ids)
        if not r["restricted"] and not r["is_deleted"]
    ]
    cards = {int(c["id"]): c for c in await profiles.cards(svc.db, rows, svc.settings)}
    members = [cards[i] for i in ids if i in cards]
    leader = cards.get(int(row["leader_id"]))
    stats = await teams_db.statistics(svc.db, team_id)
    return team_views.full(row, leader, members, stats)
