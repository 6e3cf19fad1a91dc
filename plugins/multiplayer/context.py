"""What every room change has at hand: the app, the room's state, and the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.clock import Clock, clock_of
from core.lazer.types import MultiplayerRoomUser, MultiplayerUserState
from core.services import services
from core.signalr import HubError
from plugins.multiplayer.state import Outbox, RoomState

GAMEPLAY_STATES = frozenset(
    {
        MultiplayerUserState.WAITING_FOR_LOAD,
        MultiplayerUserState.LOADED,
        MultiplayerUserState.READY_FOR_GAMEPLAY,
        MultiplayerUserState.PLAYING,
    }
)

NOT_HOST = "User is attempting to perform a host level operation while not the host"
NOT_JOINED = "This user has not yet joined a multiplayer room."


@dataclass
class Ctx:
    app: Any
    state: RoomState
    out: Outbox

    @property
    def db(self) -> Any:
        return services(self.app).db

    @property
    def room(self) -> Any:
        return self.state.room

    @property
    def clock(self) -> Clock:
        """The app's clock: countdown deadlines are its wall time, shared by every worker."""
        return clock_of(services(self.app))

    def set_state(self, user: MultiplayerRoomUser, new: MultiplayerUserState) -> None:
        user.state = new
        self.out.room("UserStateChanged", user.user_id, new)


def invalid(message: str) -> HubError:
    return HubError(message, "InvalidStateException")


def not_host() -> HubError:
    return HubError(NOT_HOST, "NotHostException")


def not_joined() -> HubError:
    return HubError(NOT_JOINED, "NotJoinedRoomException")


def state_name(state: MultiplayerUserState) -> str:
    """The C# enum name the client shows (`WaitingForLoad`)."""
    return "".join(part.capitalize() for part in state.name.split("_"))


def bad_change(old: MultiplayerUserState, new: MultiplayerUserState) -> HubError:
    return HubError(
        f"Cannot change from {state_name(old)} to {state_name(new)}",
        "InvalidStateChangeException",
    )
