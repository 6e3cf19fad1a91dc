"""The Hub base class: async methods the client invokes, and ways to reach other connections.

A hub is one object per app. Its methods are marked with `@hub_method` and named exactly as the
client calls them (`BeginPlaySessionV2`); each receives the calling `Connection` first, then the
decoded arguments. Raising `HubError` answers the invocation with the message the client shows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from core.signalr.connection import Connection
    from core.signalr.host import HubHost

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

HUB_METHOD_ATTR = "__hub_method__"


def hub_method(func: F) -> F:
    """Expose `func` to clients under its own name."""
    setattr(func, HUB_METHOD_ATTR, func.__name__)
    return func


class HubError(Exception):
    """A refusal the client shows: `<type>: <message>` after ASP.NET Core's prefix (spec 4.6)."""

    def __init__(self, message: str, type_name: str = "HubException") -> None:
        super().__init__(message)
        self.message = message
        self.type_name = type_name

    def for_method(self, method: str) -> str:
        return (
            f"An unexpected error occurred invoking '{method}' on the server. "
            f"{self.type_name}: {self.message}"
        )


class Hub:
    """Subclass, set `name` (the URL segment under /signalr) and add `@hub_method`s."""

    name: ClassVar[str] = ""

    def __init__(self, app: Starlette, host: HubHost) -> None:
        self.app = app
        self.host = host

    @property
    def state(self) -> Any:
        return self.app.state

    @classmethod
    def methods(cls) -> dict[str, str]:
        """Client-visible method name -> attribute name."""
        found: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                exposed = getattr(value, HUB_METHOD_ATTR, None)
                if exposed:
                    found[exposed] = attr
        return found

    async def on_connected(self, conn: Connection) -> None:
        """After the handshake; callbacks may be sent from here."""

    async def on_disconnected(self, conn: Connection) -> None:
        """After the connection is gone (for any reason); clean up its state here."""

    async def on_startup(self) -> None:
        """When the app starts, after the hub's bus is listening."""

    async def on_shutdown(self) -> None:
        """When the app stops, before connections are closed."""

    # --- reaching clients (any worker) ---------------------------------------------------------

    async def send_user(self, user_id: int, target: str, *args: Any) -> None:
        await self.host.send_user(user_id, target, *args)

    async def send_group(
        self, group: str, target: str, *args: Any, exclude: str | None = None
    ) -> None:
        await self.host.send_group(group, target, *args, exclude=exclude)

    async def add_to_group(self, conn: Connection, group: str) -> None:
        await self.host.add_to_group(conn, group)

    async def remove_from_group(self, conn: Connection, group: str) -> None:
        await self.host.remove_from_group(conn, group)
