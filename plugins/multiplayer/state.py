"""A realtime room's live state in the cache, and the messages one change sends.

The state of room N is one cache value (`mp:{room:N}`): the `MultiplayerRoom` as the client sees
it, MessagePack-encoded by the lazer codec (so mods keep their exact setting codes), plus what
only the server needs (countdown deadlines, the next countdown id, which connection each user
joined from). Every change runs under the lock `mp:{room:N}` on whatever worker handles the call:
load, change, save, then publish the callbacks, still under the lock so every member sees
changes in the order they were made. The value and the lock share the hash tag `{room:N}`, so
one script can take the lock with the value, and one can save, publish and release (in a Redis
Cluster, all keys of a script must be in one slot).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import msgpack

from core.lazer import decode, encode
from core.lazer.types import (
    ForceGameplayStartCountdown,
    MatchStartCountdown,
    MultiplayerCountdown,
    MultiplayerRoom,
    MultiplayerRoomUser,
    ServerShuttingDownCountdown,
)

# Countdown kinds as stored, and their classes.
COUNTDOWN_KINDS: dict[str, type] = {
    "match_start": MatchStartCountdown,
    "force_start": ForceGameplayStartCountdown,
    "shutdown": ServerShuttingDownCountdown,
}
KIND_OF = {cls: kind for kind, cls in COUNTDOWN_KINDS.items()}
# Rooms nobody touched for this long are dropped from the cache (members would have pinged).
ROOM_TTL = 24 * 3600


def room_key(room_id: int) -> str:
    return f"mp:{{room:{room_id}}}"


def lock_name(room_id: int) -> str:
    return f"mp:{{room:{room_id}}}"


def user_key(user_id: int) -> str:
    return f"mp:user:{user_id}"


def group(room_id: int) -> str:
    return f"room:{room_id}"


DEADLINES_KEY = "mp:deadlines"
ROOMS_KEY = "mp:rooms"
CONTROL_CHANNEL = "mp:control"


def alive_key(connection_id: str) -> str:
    return f"mp:conn:{connection_id}"


@dataclass
class Deadline:
    kind: str
    at: float  # wall-clock seconds (the app clock's `time()`), shared by every worker


@dataclass
class RoomState:
    room: MultiplayerRoom
    deadlines: dict[int, Deadline] = field(default_factory=dict)
    next_countdown_id: int = 1
    # user id -> id of the connection that joined (a disconnect of another one is not a leave)
    connections: dict[int, str] = field(default_factory=dict)
    closed: bool = False
    # The earliest deadline as stored in `mp:deadlines` (not saved: derived on load).
    loaded_deadline: float | None = None

    @property
    def id(self) -> int:
        return int(self.room.room_id)

    def user(self, user_id: int) -> MultiplayerRoomUser | None:
        for user in self.room.users:
            if user.user_id == user_id:
                return user
        return None

    def item(self, item_id: int) -> Any:
        for item in self.room.playlist:
            if item.id == item_id:
                return item
        return None

    @property
    def current_item(self) -> Any:
        return self.item(self.room.settings.playlist_item_id)

    def is_host(self, user_id: int) -> bool:
        return self.room.host is not None and self.room.host.user_id == user_id

    def countdowns(self, now: float) -> list[MultiplayerCountdown]:
        """Active countdowns with `time_remaining` as of `now` (wall-clock seconds)."""
        for countdown in self.room.active_countdowns:
            deadline = self.deadlines.get(countdown.id)
            if deadline is not None:
                # The base declares the field; its slot is each @hub_object subclass's own.
                countdown.time_remaining = timedelta(  # type: ignore[misc]
                    seconds=max(0.0, deadline.at - now)
                )
        return self.room.active_countdowns

    def snapshot(self, now: float) -> MultiplayerRoom:
        """The room to return to a client: countdowns current as of `now`, host the member
        object."""
        self.countdowns(now)
        if self.room.host is not None:
            self.room.host = self.user(self.room.host.user_id)
        return self.room

    def earliest_deadline(self) -> float | None:
        return min((d.at for d in self.deadlines.values()), default=None)

    # --- storage ---------------------------------------------------------------------------

    def dumps(self) -> bytes:
        # Host is stored by id only: it is always one of `users`.
        host = self.room.host
        self.room.host = None
        try:
            body = encode(self.room, MultiplayerRoom)
        finally:
            self.room.host = host
        extra = {
            "d": {str(i): [d.kind, d.at] for i, d in self.deadlines.items()},
            "n": self.next_countdown_id,
            "c": {str(u): c for u, c in self.connections.items()},
            "h": None if host is None else host.user_id,
        }
        return msgpack.packb([body, extra], use_bin_type=True)

    @classmethod
    def loads(cls, data: bytes) -> RoomState:
        body, extra = msgpack.unpackb(data, raw=False)
        room = decode(body, MultiplayerRoom)
        state = cls(
            room=room,
            deadlines={int(i): Deadline(k, float(at)) for i, (k, at) in extra["d"].items()},
            next_countdown_id=int(extra["n"]),
            connections={int(u): c for u, c in extra["c"].items()},
        )
        if extra["h"] is not None:
            room.host = state.user(int(extra["h"]))
        state.loaded_deadline = state.earliest_deadline()
        return state


class Outbox:
    """Callbacks a change produces, sent in order once the state is saved."""

    def __init__(self, room_id: int) -> None:
        self.room_id = room_id
        self.messages: list[tuple[str, Any, str, tuple[Any, ...], str | None]] = []
        # Control messages for other workers (group membership of kicked users).
        self.control: list[dict[str, Any]] = []
        # Countdowns to arm on this worker once saved: (room id, deadline).
        self.timers: list[float] = []

    def room(self, target: str, *args: Any, exclude: str | None = None) -> None:
        self.messages.append(("g", group(self.room_id), target, args, exclude))

    def user(self, user_id: int, target: str, *args: Any) -> None:
        self.messages.append(("u", user_id, target, args, None))
