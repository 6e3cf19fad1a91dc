"""Hub methods from plugins: wire signatures declared next to the method, checked at start-up.

A plugin here is a module built in the test, handed over as a third party's would be found; the
live test connects with `core.testing`'s `hub_client` to the in-process app served on a socket.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import pytest

from core.config import settings_from
from core.hooks import hookimpl
from core.lazer import Invocation, InvocationBindingFailure, available_codecs
from core.lazer.types import APIMod
from core.lazer.wire import I32, I64, STR, ListOf, Wire
from core.plugins import PluginError, load
from core.signalr import Connection, Hub, hub_method
from core.signalr.hub import declare_signatures
from core.testing import HubClient
from tests.test_cli import hitcircle


def hub_plugin(name: str, hub: type[Hub]) -> ModuleType:
    """A plugin module named `name` serving `hub`."""
    module = ModuleType(name)

    @hookimpl
    def hubs() -> list[type[Hub]]:
        return [hub]

    module.hubs = hubs  # type: ignore[attr-defined]
    return module


class ModsHub(Hub):
    """A hub whose method takes and returns APIMods: a generic MessagePack reader cannot read
    their settings, so only the declared signature gets them through (ppy/osu
    ModSettingsDictionaryFormatter.cs)."""

    name = "mods"
    callbacks: ClassVar[dict[str, tuple[Wire, ...]]] = {"ModsShouted": (I32, ListOf(APIMod))}

    @hub_method(args=(STR, ListOf(APIMod)), returns=ListOf(APIMod))
    async def ShoutMods(self, conn: Connection, name: str, mods: list[APIMod]) -> list[APIMod]:
        assert all(isinstance(mod, APIMod) for mod in mods)
        loud = [APIMod(f"{name}:{mod.acronym}", mod.settings) for mod in mods]
        conn.send("ModsShouted", conn.user_id, loud)
        return loud


@pytest.fixture
def hitcircle_plugins() -> Sequence[object]:
    return [hub_plugin("mods_plugin", ModsHub)]


async def test_a_plugin_hub_method_through_a_real_client(
    hub_client: Callable[..., Awaitable[HubClient]],
    make_user: Callable[..., Awaitable[int]],
    make_token: Callable[..., Awaitable[str]],
) -> None:
    user_id = await make_user("shouter")
    client = await hub_client("mods", await make_token(user_id))
    mods = [APIMod("DT", {"speed_change": 1.25}), APIMod("HD")]
    completion = await client.invoke("ShoutMods", "hey", mods)
    assert completion.error is None
    # The result is read with the declared `returns`: APIMods again, settings intact.
    assert completion.result == [APIMod("hey:DT", {"speed_change": 1.25}), APIMod("hey:HD")]
    shouted = await client.callback("ModsShouted")
    assert shouted.arguments == [user_id, completion.result]


def test_declared_signatures_reach_both_codecs() -> None:
    declare_signatures(ModsHub)
    mods = [APIMod("DT", {"speed_change": 1.5})]
    codecs = available_codecs()
    assert len(codecs) == 2 or "native" not in codecs
    for name, codec in codecs.items():
        frame = codec.encode_frame(Invocation("ShoutMods", ["x", mods], "1"))
        (message,), used = codec.decode_frames(frame, 1 << 20, None)
        assert used == len(frame), name
        assert message == Invocation("ShoutMods", ["x", mods], "1"), name
        # A target nobody declared is refused the way ASP.NET Core refuses it.
        unknown = codec.encode_frame(Invocation("NobodyDeclaredThis", ["x"], "2"))
        (refused,), _ = codec.decode_frames(unknown, 1 << 20, None)
        assert isinstance(refused, InvocationBindingFailure), name


def test_a_bare_hub_method_names_the_plugin_hub_and_method() -> None:
    class Unsigned(Hub):
        name = "unsigned"

        @hub_method
        async def Whisper(self, conn: Connection, text: str) -> None:
            pass

    with pytest.raises(PluginError) as info:
        load(settings_from({}, {}), [hub_plugin("quiet_plugin", Unsigned)])
    assert str(info.value) == (
        "plugin 'quiet_plugin': hub 'unsigned': method 'Whisper' has no wire signature "
        "(declare it: @hub_method(args=(...), returns=...))"
    )


def test_a_method_core_declares_needs_no_signature_of_its_own() -> None:
    class Watcher(Hub):
        name = "watcher"

        @hub_method  # the spectator hub's StartWatchingUser(int32), in core.lazer.methods
        async def StartWatchingUser(self, conn: Connection, user_id: int) -> None:
            pass

    load(settings_from({}, {}), [hub_plugin("watcher_plugin", Watcher)])


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (
            (str,),
            "method 'Misdeclared': <class 'str'> is not a wire type "
            "(use core.lazer.wire's STR, I32, ListOf(...) or a @hub_object class)",
        ),
        (
            (STR, STR),
            "method 'Misdeclared' takes 1 argument(s) after the connection but its "
            "signature declares 2",
        ),
    ],
    ids=["not-a-wire-type", "arity"],
)
def test_a_wrong_signature_is_one_line(args: tuple[Any, ...], problem: str) -> None:
    class Wrong(Hub):
        name = "wrong"

        @hub_method(args=args)
        async def Misdeclared(self, conn: Connection, text: str) -> None:
            pass

    with pytest.raises(PluginError) as info:
        load(settings_from({}, {}), [hub_plugin("wrong_plugin", Wrong)])
    assert str(info.value) == f"plugin 'wrong_plugin': hub 'wrong': {problem}"


def test_a_signature_disagreeing_with_core_is_one_line() -> None:
    class Clash(Hub):
        name = "clash"

        @hub_method(args=(STR,))
        async def JoinRoom(self, conn: Connection, room: str) -> None:
            pass

    with pytest.raises(PluginError) as info:
        load(settings_from({}, {}), [hub_plugin("clash_plugin", Clash)])
    assert str(info.value) == (
        "plugin 'clash_plugin': hub 'clash': method 'JoinRoom' declares (string) but 'JoinRoom' "
        f"is already declared with ({I64.name})"
    )


UNSIGNED_PLUGIN = """
from core.hooks import hookimpl
from core.signalr import Hub, hub_method


class Unsigned(Hub):
    name = "unsigned"

    @hub_method
    async def Whisper(self, conn, text):
        pass


@hookimpl
def hubs():
    return [Unsigned]
"""


@pytest.mark.parametrize("command", [["config", "check"], ["serve"]])
def test_config_check_and_serve_stop_on_a_missing_signature(
    tmp_path: Path, command: list[str]
) -> None:
    (tmp_path / "unsigned_hub.py").write_text(UNSIGNED_PLUGIN)
    result = hitcircle(
        *command,
        env={
            "PYTHONPATH": str(tmp_path),
            "HITCIRCLE_PLUGINS_MODULES": "unsigned_hub",
            "HITCIRCLE_DATA_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 1
    assert result.stderr == (
        "hitcircle: plugin 'unsigned_hub': hub 'unsigned': method 'Whisper' has no wire "
        "signature (declare it: @hub_method(args=(...), returns=...))\n"
    )
