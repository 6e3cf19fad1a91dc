"""A small hub for testing the SignalR host: loaded as a plugin module by the live servers."""

from __future__ import annotations

from core.hooks import hookimpl
from core.lazer import register_method
from core.lazer.wire import I32, STR
from core.signalr import Connection, Hub, HubError, hub_method

register_method("Echo", STR)
register_method("Fail", STR)
register_method("Crash")
register_method("JoinGroup", STR)
register_method("SendGroup", STR, STR)
register_method("Message", STR)
register_method("Welcome", I32)


class EchoHub(Hub):
    name = "echo"

    async def on_connected(self, conn: Connection) -> None:
        conn.send("Welcome", conn.user_id)

    @hub_method
    async def Echo(self, conn: Connection, text: str) -> str:
        return text

    @hub_method
    async def Fail(self, conn: Connection, text: str) -> None:
        raise HubError(text, "InvalidStateException")

    @hub_method
    async def Crash(self, conn: Connection) -> None:
        raise RuntimeError("internal details that must not reach the client")

    @hub_method
    async def JoinGroup(self, conn: Connection, group: str) -> None:
        await self.add_to_group(conn, group)

    @hub_method
    async def SendGroup(self, conn: Connection, group: str, text: str) -> None:
        await self.send_group(group, "Message", text, exclude=conn.id)


@hookimpl
def hubs() -> list[type[Hub]]:
    return [EchoHub]
