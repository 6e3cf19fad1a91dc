"""SignalR MessagePack hub protocol messages (dotnet/aspnetcore HubProtocol.md) as dataclasses.

Field order is part of the contract with the native codec, which builds these positionally.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .values import VOID

INVOCATION = 1
STREAM_ITEM = 2
COMPLETION = 3
STREAM_INVOCATION = 4
CANCEL_INVOCATION = 5
PING = 6
CLOSE = 7
ACK = 8
SEQUENCE = 9

COMPLETION_ERROR = 1
COMPLETION_VOID = 2
COMPLETION_RESULT = 3


@dataclass(slots=True)
class Invocation:
    """A method call (client -> server) or callback (server -> client).

    `invocation_id` None (or "") is fire-and-forget: no Completion may be sent for it.
    """

    target: str
    arguments: list[Any] = field(default_factory=list)
    invocation_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    stream_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class StreamInvocation:
    target: str
    arguments: list[Any] = field(default_factory=list)
    invocation_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    stream_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class StreamItem:
    # Optional on the wire (read with read_opt_str by both codecs); a peer may send nil.
    invocation_id: str | None
    item: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Completion:
    """The reply to an invocation: `error` set -> kind 1; `result` VOID -> kind 2; else kind 3.

    VOID is the default so `Completion(id)` answers a `Task` method and `Completion(id, value)` a
    `Task<T>` one; `None` is a real (nil) result.
    """

    # Optional on the wire (read with read_opt_str by both codecs); a peer may send nil.
    invocation_id: str | None
    result: Any = VOID
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class CancelInvocation:
    # Optional on the wire (read with read_opt_str by both codecs); a peer may send nil.
    invocation_id: str | None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Ping:
    pass


@dataclass(slots=True)
class Close:
    error: str | None = None
    allow_reconnect: bool = False


@dataclass(slots=True)
class Ack:
    sequence_id: int = 0


@dataclass(slots=True)
class Sequence:
    sequence_id: int = 0


@dataclass(slots=True)
class InvocationBindingFailure:
    """An invocation whose arguments did not bind (unknown target, wrong count or bad value).

    Decoded instead of raising, like ASP.NET Core does, so the hub can answer with an error
    Completion and keep the connection; it is never encoded.
    """

    invocation_id: str | None
    target: str
    error: str


HubMessage = (
    Invocation
    | StreamInvocation
    | StreamItem
    | Completion
    | CancelInvocation
    | Ping
    | Close
    | Ack
    | Sequence
    | InvocationBindingFailure
)
