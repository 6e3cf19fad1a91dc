"""Who may create and join rooms, and whose rooms others see.

osu-web lets only users with a clean record create rooms (app/Singletons/OsuAuthorize.php
`checkMultiplayerRoomCreate`: `ensureCleanRecord`, neither restricted nor silenced), for
playlists over HTTP and for realtime rooms, which osu-server-spectator creates through osu-web's
interop `startGame`. osu-server-spectator also refuses restricted users at `CreateRoom` and
`JoinRoomWithPassword` (osu.Server.Spectator/Hubs/Multiplayer/MultiplayerHub.cs). A restricted
user's content is shown to nobody but themself, so their rooms are left out of listings for
everyone else (`core.rooms.store.search_rooms`).

Room passwords. lazer sends a realtime room's password in clear (`CreateRoom`,
`ChangeSettings`, `JoinRoomWithPassword`), and the protocol hands it back to every member in
`MultiplayerRoomSettings.Password` and to invitees in `Invited(invitedBy, roomId, password)`
(ppy/osu osu.Game/Online/Multiplayer/IMultiplayerClient.cs), so a live room's state keeps it as
sent; it lives in the cache while the room is open and goes with it. What is stored at rest, the
`rooms.password` column, is a bcrypt hash (`core.auth.hash_password`): the HTTP API only ever
says `has_password`, and the playlists join (`PUT rooms/{id}/users/{me}?password=`) checks the
hash.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from databases import Database

from core.auth import authenticator, hash_password, verify_password
from core.chat.service import is_silenced
from core.services import Services
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


async def password_hash(svc: Services, password: str | None) -> str | None:
    """What `rooms.password` stores for `password` (None: the room has none)."""
    if not password:
        return None
    return await hash_password(password, authenticator(svc).bcrypt_rounds)


async def password_matches(room: Mapping[str, Any], password: str | None) -> bool:
    """Whether `password` opens the stored room (always, when it has none)."""
    if not room["password"]:
        return True
    return await verify_password(password or "", room["password"])


def live_password_matches(expected: str, given: str) -> bool:
    """A live room's password against the one a joining client sent, in constant time."""
    return not expected or hmac.compare_digest(expected.encode(), given.encode())
