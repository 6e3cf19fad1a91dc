"""Team lifecycle: create, invite, apply, accept, decline, leave, kick, transfer, disband.

The rules (after osu-web's TeamsController and TeamApplicationsController): only the leader
invites, accepts applications, kicks, transfers leadership, edits and disbands; the leader
cannot leave without first transferring or disbanding; a player is in at most one team (the
primary key of `team_members` enforces it even against concurrent joins). Every refusal is a
`TeamRefused` with the HTTP status it deserves; a refused call changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from core.db import duplicate_errors
from core.services import Services
from core.teams import store

NAME_LENGTH = (1, 50)
SHORT_NAME_LENGTH = (1, 10)
FLAG_URL_LENGTH = 255
DESCRIPTION_LENGTH = 2000
COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
# Printable names: letters, digits, spaces and a little punctuation, no control characters.
NAME = re.compile(r"[\w .\-\[\]()!?&'+]+")


class TeamRefused(Exception):
    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


def _check_name(field: str, value: Any, bounds: tuple[int, int]) -> str:
    if not isinstance(value, str):
        raise TeamRefused(422, f"{field} must be a string", field)
    text = value.strip()
    if not bounds[0] <= len(text) <= bounds[1]:
        raise TeamRefused(422, f"{field} must be {bounds[0]}-{bounds[1]} characters", field)
    if not NAME.fullmatch(text):
        raise TeamRefused(422, f"{field} has characters that are not allowed", field)
    return text


def _check_url(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TeamRefused(422, "flag_url must be a string", "flag_url")
    if len(value) > FLAG_URL_LENGTH or not re.fullmatch(r"https?://[^\s\"'<>]+", value):
        raise TeamRefused(
            422,
            f"flag_url must be an http(s) URL of at most {FLAG_URL_LENGTH} characters",
            "flag_url",
        )
    return value


def _check_colour(field: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not COLOUR.fullmatch(value):
        raise TeamRefused(422, f"{field} must be a colour like #1a2b3c", field)
    return value.lower()


def _check_description(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > DESCRIPTION_LENGTH:
        raise TeamRefused(
            422,
            f"description must be text of at most {DESCRIPTION_LENGTH} characters",
            "description",
        )
    return value


def clean_fields(fields: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """The validated editable fields; `partial` (an edit) allows leaving any out."""
    out: dict[str, Any] = {}
    for field, bounds in (("name", NAME_LENGTH), ("short_name", SHORT_NAME_LENGTH)):
        if field in fields and fields[field] is not None:
            out[field] = _check_name(field, fields[field], bounds)
        elif not partial:
            raise TeamRefused(422, f"{field} is required", field)
    if "flag_url" in fields:
        out["flag_url"] = _check_url(fields["flag_url"])
    for field in ("colour_primary", "colour_secondary"):
        if field in fields:
            out[field] = _check_colour(field, fields[field])
    if "description" in fields:
        out["description"] = _check_description(fields["description"])
    return out


async def _invalidate(svc: Services, user_ids: Iterable[int]) -> None:
    """Cached profiles of these users show their old team: forget them."""
    from core.users import profiles

    for user_id in set(user_ids):
        await profiles.invalidate(svc, user_id)


async def _team(svc: Services, team_id: int) -> Mapping[str, Any]:
    row = await store.get_team(svc.db, team_id)
    if row is None:
        raise TeamRefused(404, "team not found")
    return row


async def _led(svc: Services, actor_id: int, team_id: int) -> Mapping[str, Any]:
    team = await _team(svc, team_id)
    if int(team["leader_id"]) != actor_id:
        raise TeamRefused(403, "only the team leader can do this")
    return team


async def _user_exists(svc: Services, user_id: int) -> None:
    """A player who can be in a team: restricted and deleted accounts are "not found"."""
    from core.users import store as users_db

    row = await users_db.get_user(svc.db, user_id)
    if row is None or row["is_deleted"] or row["restricted"]:
        raise TeamRefused(404, "user not found", "user_id")


async def _may_join(svc: Services, user_id: int) -> None:
    """The acting player may found or join a team: not while restricted (osu-web TeamPolicy)."""
    from core.users import store as users_db

    row = await users_db.get_user(svc.db, user_id)
    if row is None or row["is_deleted"] or row["restricted"]:
        raise TeamRefused(403, "restricted players cannot found or join teams")


async def _names_free(svc: Services, name: str, short_name: str, except_team: int = 0) -> None:
    taken = await store.name_taken(svc.db, name, short_name, except_team)
    if taken is not None:
        raise TeamRefused(422, f"{taken} is already taken", taken)


async def create(svc: Services, leader_id: int, fields: Mapping[str, Any]) -> int:
    values = clean_fields(fields, partial=False)
    await _may_join(svc, leader_id)
    if await store.team_of(svc.db, leader_id) is not None:
        raise TeamRefused(409, "you are already in a team")
    await _names_free(svc, values["name"], values["short_name"])
    try:
        team_id = await store.insert_team(svc.db, {**values, "leader_id": leader_id})
    except duplicate_errors():
        # A concurrent create took the name or put the leader in a team after the checks.
        raise TeamRefused(409, "the name is taken or you are already in a team") from None
    await _invalidate(svc, [leader_id])
    return team_id


async def edit(svc: Services, actor_id: int, team_id: int, fields: Mapping[str, Any]) -> None:
    team = await _led(svc, actor_id, team_id)
    values = clean_fields(fields, partial=True)
    await _names_free(
        svc, values.get("name", team["name"]), values.get("short_name", team["short_name"]), team_id
    )
    if values:
        try:
            await store.update_team(svc.db, team_id, **values)
        except duplicate_errors():
            raise TeamRefused(409, "the name is taken") from None
    await _invalidate(svc, await store.member_ids(svc.db, team_id))


async def _join(svc: Services, team_id: int, user_id: int) -> None:
    try:
        await store.add_member(svc.db, team_id, user_id)
    except duplicate_errors():
        raise TeamRefused(409, "the user is already in a team") from None
    await _invalidate(svc, [user_id])


async def invite(svc: Services, actor_id: int, team_id: int, user_id: int) -> str:
    """The leader invites a player: "invited", or "joined" when the player had applied."""
    await _led(svc, actor_id, team_id)
    await _user_exists(svc, user_id)
    if await store.team_of(svc.db, user_id) is not None:
        raise TeamRefused(409, "the user is already in a team", "user_id")
    pending = await store.find_request(svc.db, team_id, user_id)
    if pending is not None and pending["kind"] == store.APPLY:
        await _join(svc, team_id, user_id)
        return "joined"
    if pending is None:
        try:
            await store.add_request(svc.db, team_id, user_id, store.INVITE)
        except duplicate_errors():
            pass  # The same invitation, sent twice at once.
    return "invited"


async def apply(svc: Services, user_id: int, team_id: int) -> str:
    """A player asks to join: "applied", or "joined" when the team had invited them."""
    await _team(svc, team_id)
    await _may_join(svc, user_id)
    if await store.team_of(svc.db, user_id) is not None:
        raise TeamRefused(409, "you are already in a team")
    pending = await store.find_request(svc.db, team_id, user_id)
    if pending is not None and pending["kind"] == store.INVITE:
        await _join(svc, team_id, user_id)
        return "joined"
    if pending is None:
        try:
            await store.add_request(svc.db, team_id, user_id, store.APPLY)
        except duplicate_errors():
            pass
    return "applied"


async def _own_request(svc: Services, actor_id: int, request_id: int) -> Mapping[str, Any]:
    """A request the actor may answer: an invitation to them, or an application to their team."""
    row = await store.get_request(svc.db, request_id)
    if row is not None:
        if row["kind"] == store.INVITE and int(row["user_id"]) == actor_id:
            return row
        team = await store.get_team(svc.db, int(row["team_id"]))
        if row["kind"] == store.APPLY and team is not None and int(team["leader_id"]) == actor_id:
            return row
    # Someone else's request is "not found", never "forbidden": its existence is not told.
    raise TeamRefused(404, "request not found")


async def accept(svc: Services, actor_id: int, request_id: int) -> int:
    """Accept an invitation (the invited player) or application (the leader); the team id."""
    row = await _own_request(svc, actor_id, request_id)
    await _may_join(svc, int(row["user_id"]))
    await _join(svc, int(row["team_id"]), int(row["user_id"]))
    return int(row["team_id"])


async def decline(svc: Services, actor_id: int, request_id: int) -> None:
    """Refuse an invitation or application; an applicant may also withdraw their own."""
    row = await store.get_request(svc.db, request_id)
    if row is not None and row["kind"] == store.APPLY and int(row["user_id"]) == actor_id:
        await store.delete_request(svc.db, request_id)
        return
    row = await _own_request(svc, actor_id, request_id)
    await store.delete_request(svc.db, int(row["id"]))


async def leave(svc: Services, user_id: int, team_id: int) -> None:
    team = await _team(svc, team_id)
    if int(team["leader_id"]) == user_id:
        raise TeamRefused(422, "the leader must transfer leadership or disband the team first")
    if not await store.remove_member(svc.db, team_id, user_id):
        raise TeamRefused(404, "you are not in this team")
    await _invalidate(svc, [user_id])


async def kick(svc: Services, actor_id: int, team_id: int, user_id: int) -> None:
    await _led(svc, actor_id, team_id)
    if user_id == actor_id:
        raise TeamRefused(422, "the leader cannot kick themselves")
    if not await store.remove_member(svc.db, team_id, user_id):
        raise TeamRefused(404, "the user is not in this team", "user_id")
    await _invalidate(svc, [user_id])


async def transfer(svc: Services, actor_id: int, team_id: int, user_id: int) -> None:
    await _led(svc, actor_id, team_id)
    if await store.team_of(svc.db, user_id) != team_id:
        raise TeamRefused(422, "the new leader must be a member of the team", "user_id")
    await store.update_team(svc.db, team_id, leader_id=user_id)


async def disband(svc: Services, actor_id: int | None, team_id: int) -> None:
    """Delete the team, its members and requests (`actor_id` None: an operator, no check)."""
    if actor_id is None:
        await _team(svc, team_id)
    else:
        await _led(svc, actor_id, team_id)
    members = await store.member_ids(svc.db, team_id)
    await store.delete_team(svc.db, team_id)
    await _invalidate(svc, members)


async def add_member(svc: Services, team_id: int, user_id: int) -> None:
    """An operator puts a player in a team (the CLI): the player must not be in one."""
    await _team(svc, team_id)
    await _user_exists(svc, user_id)
    await _join(svc, team_id, user_id)


async def remove_member(svc: Services, team_id: int, user_id: int) -> None:
    """An operator takes a player out of a team; not the leader (transfer or disband first)."""
    team = await _team(svc, team_id)
    if int(team["leader_id"]) == user_id:
        raise TeamRefused(422, "the leader cannot be removed: transfer or disband first")
    if not await store.remove_member(svc.db, team_id, user_id):
        raise TeamRefused(404, "the user is not in this team")
    await _invalidate(svc, [user_id])
