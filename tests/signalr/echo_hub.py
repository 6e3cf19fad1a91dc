"""A small hub for testing the SignalR host: loaded as a plugin module by the live servers.

Its methods and callbacks declare their wire signatures themselves, as a third party's do."""

from __future__ import annotations

from typing import ClassVar

from core.hooks import hookimpl
from core.lazer.wire import I32, STR, Wire
from core.signalr import Connection, Hub, HubError, hub_method


class EchoHub(Hub):
    name = "echo"
    callbacks: ClassVar[dict[str, tuple[Wire, ...]]] = {"Message": (STR,), "Welcome": (I32,)}

    async def on_connected(self, conn: Connection) -> None:
        conn.send("Welcome", conn.user_id)

    @hub_method(args=(STR,), returns=STR)
    async def Echo(self, conn: Connection, text: str) -> str:
        return text

    @hub_method(args=(STR,))
    async def Fail(self, conn: Connection, text: str) -> None:
        raise HubError(text, "InvalidStateException")

    @hub_method(args=())
    async def Crash(self, conn: Connection) -> None:
        raise RuntimeError("internal details that must not reach the client")

    @hub_method(args=(STR,))
    async def JoinGroup(self, conn: Connection, group: str) -> None:
        await self.add_to_group(conn, group)

    @hub_method(args=(STR, STR))
    async def SendGroup(self, conn: Connection, group: str, text: str) -> None:
        await self.send_group(group, "Message", text, exclude=conn.id)


@hookimpl
def hubs() -> list[type[Hub]]:
    return [EchoHub]
