"""What the score handlers share: the response format version, users and rulesets from paths."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from core.auth import current_user
from core.http import path_id
from core.scores import scoring
from core.services import services
from core.users import store as users_db


def api_version(request: Request) -> int:
    raw = request.headers.get("x-api-version", "").strip()
    return int(raw) if raw.isdecimal() and len(raw) < 12 else 0


def viewer_id(request: Request) -> int | None:
    user = current_user(request)
    return None if user is None else int(user["id"])


def ruleset_id(name: Any) -> int | None:
    if isinstance(name, str) and name in scoring.RULESET_IDS:
        return scoring.RULESET_IDS[name]
    return None


async def find_user(request: Request, key: str) -> dict[str, Any] | None:
    """A visible user by id, `@name` or name; restricted users only to themselves."""
    db = services(request).db
    row = None
    number = path_id(key)
    if number is not None:
        row = await users_db.get_user(db, number)
    if row is None and not key.isdecimal():
        row = await users_db.find_by_username(db, key.removeprefix("@"))
    if row is None or row["is_deleted"]:
        return None
    if row["restricted"] and viewer_id(request) != int(row["id"]):
        return None
    return row
