"""ASP.NET Core SignalR, server side, as the lazer client speaks it (dotnet/aspnetcore
src/SignalR/docs/specs/HubProtocol.md, TransportProtocols.md).

A plugin returns Hub subclasses from the `hubs` hook; each is served at `/signalr/<name>` with
`/negotiate` beside it. See `core.signalr.hub` for writing one.
"""

from core.signalr.connection import Connection
from core.signalr.host import HubHost
from core.signalr.hub import Hub, HubError, hub_method

__all__ = ["Connection", "Hub", "HubError", "HubHost", "hub_method"]
