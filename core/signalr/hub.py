"""The Hub base class: async methods the client invokes, and ways to reach other connections.

A hub is one object per app. Its methods are marked with `@hub_method` and named exactly as the
client calls them (`BeginPlaySessionV2`); each receives the calling `Connection` first, then the
decoded arguments. Raising `HubError` answers the invocation with the message the client shows.

Every method needs a wire signature, because lazer's MessagePack is decoded by declared type (an
`APIMod` anywhere in the arguments breaks a generic reader). A plugin declares it next to the
method, in the wire types of `core.lazer.wire` and `core.lazer.types`:

    @hub_method(args=(STR, ListOf(APIMod)), returns=I32)
    async def Greet(self, conn: Connection, name: str, mods: list[APIMod]) -> int: ...

and the callbacks it sends in `callbacks = {"Greeted": (I32, STR)}` on the class. The built-in
hubs' methods are declared in `core.lazer.methods` (the tables of the osu! protocol); a bare
`@hub_method` is accepted only for a name declared there (or with `core.lazer.register_method`).
Plugin loading checks every hub (`check_hubs`): a method without a signature, a signature that is
not made of wire types or that disagrees with one declared elsewhere stops start-up with one line.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast, overload

from core.plugins import PluginError
from core.services import Services, services

if TYPE_CHECKING:
    import pluggy
    from starlette.applications import Starlette

    from core.lazer.wire import Wire
    from core.signalr.connection import Connection
    from core.signalr.host import HubHost

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

HUB_METHOD_ATTR = "__hub_method__"
HUB_SIGNATURE_ATTR = "__hub_signature__"


@dataclass(frozen=True)
class Signature:
    """How a hub method travels: its argument wire types, and what its result is read as.

    Results are encoded by their run-time type, as SignalR serialises them (a `@hub_object`
    instance, a list of them, plain values); `returns` is the type a client reads the result with
    (`core.testing.HubClient` does), and None means the method returns nothing.
    """

    args: tuple[Wire, ...]
    returns: Wire | None = None


@overload
def hub_method(func: F, /) -> F: ...


@overload
def hub_method(
    *, args: Iterable[Wire] | None = None, returns: Wire | None = None
) -> Callable[[F], F]: ...


def hub_method(
    func: F | None = None,
    /,
    *,
    args: Iterable[Wire] | None = None,
    returns: Wire | None = None,
) -> F | Callable[[F], F]:
    """Expose `func` to clients under its own name.

    `@hub_method(args=(STR,), returns=STR)` declares its wire signature too; a bare
    `@hub_method` relies on the protocol tables of `core.lazer.methods` knowing the name.
    """

    def mark(method: F) -> F:
        setattr(method, HUB_METHOD_ATTR, method.__name__)
        if args is not None:
            setattr(method, HUB_SIGNATURE_ATTR, Signature(tuple(args), returns))
        elif returns is not None:
            raise TypeError(f"@hub_method on {method.__name__}: returns= needs args= too")
        return method

    return mark(func) if func is not None else mark


class HubError(Exception):
    """A refusal the client shows: `<type>: <message>` after ASP.NET Core's prefix (ppy/osu
    osu.Game/Online/Multiplayer/MultiplayerClientExtensions.cs, GetHubExceptionMessage)."""

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
    # The token scope a connection needs, checked at negotiate and at the WebSocket as the REST
    # routes check theirs (`core.auth.api_route`): `*` is what lazer's own token carries.
    scope: ClassVar[str] = "*"
    # Callbacks this hub sends (`send_user`, `send_group`, `conn.send`) -> their argument wire
    # types; a callback named in no table is encoded by the run-time types of its arguments.
    callbacks: ClassVar[Mapping[str, tuple[Wire, ...]]] = {}

    def __init__(self, app: Starlette, host: HubHost) -> None:
        self.app = app
        self.host = host

    @property
    def services(self) -> Services:
        """The app's services (`core.services.Services`)."""
        return services(self.app)

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

    @classmethod
    def signatures(cls) -> dict[str, Signature]:
        """Client-visible method name -> the signature its `@hub_method(args=...)` declared."""
        found: dict[str, Signature] = {}
        for exposed, attr in cls.methods().items():
            signature = getattr(getattr(cls, attr), HUB_SIGNATURE_ATTR, None)
            if signature is not None:
                found[exposed] = signature
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


# --- wire signatures: checked when plugins load, handed to both codecs ------------------------


def declare_signatures(hub_class: type[Hub]) -> None:
    """Check `hub_class`'s wire signatures and register the declared ones with the codec.

    Idempotent. Raises `PluginError` (one line naming the hub and the method) for a method with
    no signature, a signature made of something that is not a wire type, one whose number of
    arguments differs from the method's, or one that disagrees with a declaration elsewhere (the
    codec has one table for every hub, as lazer's method names are unique across hubs).
    """
    from core import lazer
    from core.lazer.methods import METHODS, RETURNS

    label = f"hub {hub_class.name or hub_class.__name__!r}"
    declared: dict[str, tuple[str, Signature]] = {
        name: ("method", signature) for name, signature in hub_class.signatures().items()
    }
    for name, arguments in hub_class.callbacks.items():
        declared[name] = ("callback", Signature(tuple(arguments)))
    for name, attr in hub_class.methods().items():
        if name not in declared and name not in METHODS:
            raise PluginError(
                f"{label}: method {name!r} has no wire signature "
                "(declare it: @hub_method(args=(...), returns=...))"
            )
        if name in declared:
            _check_arity(label, name, getattr(hub_class, attr), declared[name][1])
    for name, (kind, signature) in declared.items():
        for wire in (*signature.args, *([signature.returns] if signature.returns else [])):
            try:
                lazer.node_id(wire)
            except (TypeError, KeyError):
                raise PluginError(
                    f"{label}: {kind} {name!r}: {wire!r} is not a wire type "
                    "(use core.lazer.wire's STR, I32, ListOf(...) or a @hub_object class)"
                ) from None
        known = METHODS.get(name)
        if known is not None and known != signature.args:
            raise PluginError(
                f"{label}: {kind} {name!r} declares ({describe(signature.args)}) but "
                f"{name!r} is already declared with ({describe(known)})"
            )
        returns = RETURNS.get(name)
        if known is not None and returns is not None and signature.returns is not None:
            if returns != signature.returns:
                raise PluginError(
                    f"{label}: method {name!r} returns {describe((signature.returns,))} but "
                    f"{name!r} is already declared to return {describe((returns,))}"
                )
    for name, (_, signature) in declared.items():
        if METHODS.get(name) != signature.args or (
            signature.returns is not None and RETURNS.get(name) != signature.returns
        ):
            lazer.register_method(name, *signature.args, returns=signature.returns)


def _check_arity(label: str, name: str, method: Callable[..., Any], signature: Signature) -> None:
    parameters = list(inspect.signature(method).parameters.values())[2:]  # self, conn
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    if not len(required) <= len(signature.args) <= len(positional):
        raise PluginError(
            f"{label}: method {name!r} takes {len(positional)} argument(s) after the "
            f"connection but its signature declares {len(signature.args)}"
        )


def check_hubs(pm: pluggy.PluginManager) -> None:
    """`declare_signatures` for every hub the enabled plugins serve; the error names the plugin."""
    for impl in pm.hook.hubs.get_hookimpls():
        hub_classes = cast("list[type[Hub]] | None", impl.function())
        for hub_class in hub_classes or []:
            try:
                declare_signatures(hub_class)
            except PluginError as exc:
                raise PluginError(f"plugin {impl.plugin_name!r}: {exc}") from None


def describe(wires: Iterable[Wire]) -> str:
    """Wire types as a C#-like list for messages: `int32, string?, APIMod[]`."""
    return ", ".join(_describe(w) for w in wires)


def _describe(wire: Wire) -> str:
    from core.lazer import wire as w

    if isinstance(wire, w.Opt):
        return f"{_describe(wire.inner)}?"
    if isinstance(wire, w.ListOf):
        return f"{_describe(wire.elem)}[]"
    if isinstance(wire, w.MapOf):
        return f"Dictionary<{_describe(wire.key)}, {_describe(wire.value)}>"
    if isinstance(wire, w.TupleOf):
        return f"({describe(wire.elems)})"
    if isinstance(wire, w.EnumOf):
        return wire.cls.__name__
    if isinstance(wire, (w.Int, w.Prim, w.Union)):
        return "string" if wire is w.STR else wire.name
    if isinstance(wire, type):
        return wire.__name__
    return repr(wire)
