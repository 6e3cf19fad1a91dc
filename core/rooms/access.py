"""Who may create and join rooms, and whose rooms others see.

osu-web lets only users with a clean record create rooms (app/Singletons/OsuAuthorize.php
`checkMultiplayerRoomCreate`: `ensureCleanRecord`, neither restricted nor silenced), for
playlists over HTTP and for realtime rooms, which osu-server-spectator creates through osu-web's
interop `startGame`. osu-server-spectator also refuses restricted users at `CreateRoom` and
`JoinRoomWithPassword` (osu.Server.Spectator/Hubs/Multiplayer/MultiplayerHub.cs). A restricted
user's content is shown to nobody but themself, so their rooms are left out of listings for
everyone else (`core.rooms.store.search_rooms`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from databases import Database

from core.chat.service import is_silenced
from core.users import store as users_db

# osu-web resources/lang/en/authorization.php `restricted` and `silenced`.
RESTRICTED = "Can't do that while restricted."
SILENCED = "Can't do that while silenced."
# osu-server-spectator's words for a restricted user at CreateRoom and JoinRoomWithPassword.
HUB_RESTRICTED = "Can't join a room when restricted."


def create_refusal(user: Mapping[str, Any]) -> str | None:
    """Why `user` may not create a room (osu-web's words), or None."""
    if user.get("restricted"):
        return RESTRICTED
    if is_silenced(user):
        return SILENCED
    return None


def hub_create_refusal(user: Mapping[str, Any]) -> str | None:
    """`create_refusal` in osu-server-spectator's words where it has its own."""
    if user.get("restricted"):
        return HUB_RESTRICTED
    return create_refusal(user)


def hub_join_refusal(user: Mapping[str, Any]) -> str | None:
    return HUB_RESTRICTED if user.get("restricted") else None


async def hidden_from(db: Database, room: Mapping[str, Any], viewer_id: int | None) -> bool:
    """Whether `room` is kept from `viewer_id`: its host is restricted and is someone else."""
    if viewer_id is not None and int(room["user_id"]) == viewer_id:
        return False
    host = await users_db.get_user(db, int(room["user_id"]))
    return host is not None and bool(host["restricted"])
