"""What the beatmap and beatmapset handlers share: who is asking."""

from __future__ import annotations

from starlette.requests import Request

from core.auth import current_token, current_user
from core.beatmaps.responses import Viewer


def viewer(request: Request) -> Viewer:
    user = current_user(request)
    token = current_token(request)
    return Viewer(
        user_id=int(user["id"]) if user is not None else None,
        lazer=token is not None and "*" in token.scopes,
    )
