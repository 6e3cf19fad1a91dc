from pathlib import Path

import pytest

from core.config import settings_from
from core.hooks import hookimpl
from core.plugins import PluginError, collect, discover, load, resolve


def test_builtin_plugins_are_found() -> None:
    infos = {p.name: p for p in discover(settings_from({}, {}))}
    assert infos["storage_local"].source == "built-in"
    assert infos["storage_local"].enabled


def test_disabled_plugins_are_not_registered() -> None:
    settings = settings_from({"plugins": {"disabled": ["storage_local"]}}, {})
    pm = load(settings)
    assert pm.get_plugin("storage_local") is None
    assert not next(p for p in discover(settings) if p.name == "storage_local").enabled


def test_enabled_list_is_exclusive() -> None:
    settings = settings_from({"plugins": {"enabled": ["storage_local"]}}, {})
    assert [p.name for p in discover(settings) if p.enabled] == ["storage_local"]


def test_unknown_plugin_in_config_is_one_line() -> None:
    with pytest.raises(PluginError, match="plugin 'nope' named in config is not installed"):
        load(settings_from({"plugins": {"disabled": ["nope"]}}, {}))


def test_plugin_that_raises_on_import_names_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_plugin.py").write_text("raise RuntimeError('boom at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    settings = settings_from({"plugins": {"modules": ["broken_plugin"]}}, {})
    with pytest.raises(PluginError) as info:
        load(settings)
    assert str(info.value) == (
        "plugin 'broken_plugin' (broken_plugin) failed to import: RuntimeError: boom at import"
    )


def test_a_disabled_broken_plugin_is_never_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_two.py").write_text("raise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    settings = settings_from(
        {"plugins": {"modules": ["broken_two"], "disabled": ["broken_two"]}}, {}
    )
    assert load(settings).get_plugin("broken_two") is None


async def test_resolve_awaits_only_awaitables() -> None:
    async def later() -> int:
        return 2

    assert await resolve(1) == 1
    assert await resolve(later()) == 2


def test_collect_skips_none() -> None:
    class A:
        @hookimpl
        def routes(self) -> list[str]:
            return ["a"]

    class B:
        @hookimpl
        def routes(self) -> None:
            return None

    pm = load(settings_from({}, {}), [A(), B()])
    assert "a" in collect(pm.hook.routes())
