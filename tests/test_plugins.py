import argparse
import importlib
import pkgutil
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from core import hooks
from core.config import ConfigError, settings_from
from core.hooks import hookimpl
from core.plugins import PluginError, collect, discover, load, performance_calculator, resolve
from tests.test_cli import hitcircle


def test_builtin_plugins_are_found() -> None:
    infos = {p.name: p for p in discover(settings_from({}, {}))}
    assert infos["storage_local"].source == "built-in"
    assert infos["storage_local"].enabled


def test_disabled_plugins_are_not_registered() -> None:
    settings = settings_from({"plugins": {"disabled": ["api_v1"]}}, {})
    pm = load(settings)
    assert pm.get_plugin("api_v1") is None
    assert not next(p for p in discover(settings) if p.name == "api_v1").enabled


def test_enabled_list_is_exclusive() -> None:
    settings = settings_from({"plugins": {"enabled": ["storage_local"]}}, {})
    assert [p.name for p in discover(settings) if p.enabled] == ["storage_local"]


def test_unknown_plugin_in_config_is_one_line() -> None:
    with pytest.raises(ConfigError, match=r"plugins\.disabled: no plugin named 'nope'"):
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


# --- strict loading: misspelled hooks and wrong arguments stop start-up with one line ----------

TYPO_PLUGIN = """
from core.hooks import hookimpl


@hookimpl
def rotues():
    return []
"""


def test_misspelled_hook_is_one_line() -> None:
    class Typo:
        @hookimpl
        def shutdwon(self, app: object) -> None:
            pass

    with pytest.raises(PluginError) as info:
        load(settings_from({}, {}), [Typo()])
    assert str(info.value) == "plugin 'Typo': unknown hook 'shutdwon' (did you mean 'shutdown'?)"


def test_misspelled_hook_names_the_configured_plugin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "typo_plugin.py").write_text(TYPO_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError) as info:
        load(settings_from({"plugins": {"modules": ["typo_plugin"]}}, {}))
    assert str(info.value) == "plugin 'typo_plugin': unknown hook 'rotues' (did you mean 'routes'?)"


def test_a_disabled_misspelled_plugin_is_not_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "typo_off.py").write_text(TYPO_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    settings = settings_from({"plugins": {"modules": ["typo_off"], "disabled": ["typo_off"]}}, {})
    assert load(settings).get_plugin("typo_off") is None


def test_hook_argument_the_spec_lacks_is_one_line() -> None:
    greeting = ModuleType("greeting")

    @hookimpl
    def routes(app: object) -> list[str]:
        return []

    greeting.routes = routes  # type: ignore[attr-defined]
    with pytest.raises(PluginError) as info:
        load(settings_from({}, {}), [greeting])
    message = str(info.value)
    assert message.startswith("plugin 'greeting': hook 'routes': ")
    assert "'app'" in message and "\n" not in message


def test_every_builtin_hookimpl_matches_a_spec() -> None:
    pm = load(settings_from({}, {}))
    pm.check_pending()
    for name, caller in vars(pm.hook).items():
        if not name.startswith("_") and caller.get_hookimpls():
            assert caller.has_spec(), f"{name} is implemented but is no hook"


def test_config_check_names_a_misspelled_hook(tmp_path: Path) -> None:
    (tmp_path / "typo_cli.py").write_text(TYPO_PLUGIN)
    result = hitcircle(
        "config",
        "check",
        env={
            "PYTHONPATH": str(tmp_path),
            "HITCIRCLE_PLUGINS_MODULES": "typo_cli",
            "HITCIRCLE_DATA_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 1
    assert result.stderr == (
        "hitcircle: plugin 'typo_cli': unknown hook 'rotues' (did you mean 'routes'?)\n"
    )


# --- [pp] calculator: the one plugin asked for pp -------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"pp": {"calculator": "nope"}}, "no plugin named 'nope' is installed"),
        (
            {"plugins": {"disabled": ["pp_rosu"]}},
            "plugin 'pp_rosu' is disabled (calculators: none;",
        ),
        ({"pp": {"calculator": "api_v1"}}, "plugin 'api_v1' has no calculate_performance hook"),
    ],
)
def test_pp_calculator_must_be_an_enabled_calculator(raw: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(settings_from(raw, {}))
    assert str(info.value).startswith(f"config error: pp.calculator: {problem}")
    assert info.value.key == "pp.calculator"


def test_config_check_names_a_bad_pp_calculator(tmp_path: Path) -> None:
    result = hitcircle(
        "config",
        "check",
        env={"HITCIRCLE_PP_CALCULATOR": "my_pp", "HITCIRCLE_DATA_DIR": str(tmp_path)},
    )
    assert result.returncode == 2
    assert result.stderr == (
        "hitcircle: config error: pp.calculator: no plugin named 'my_pp' is installed "
        '(calculators: pp_rosu; "" for no pp)\n'
    )


def test_the_named_calculator_is_the_only_one_asked() -> None:
    asked: list[str] = []

    def calculator(name: str) -> ModuleType:
        module = ModuleType(name)

        @hookimpl
        def calculate_performance(beatmap: object, score: object) -> dict[str, float]:
            asked.append(name)
            return {"pp": float(len(asked))}

        module.calculate_performance = calculate_performance  # type: ignore[attr-defined]
        return module

    plugins = [calculator("first_pp"), calculator("my_pp"), calculator("last_pp")]
    settings = settings_from({"pp": {"calculator": "my_pp"}}, {})
    pm = load(settings, plugins)
    calculate = performance_calculator(pm, settings)
    assert calculate is not None
    assert calculate(beatmap={}, score={}) == {"pp": 1.0}
    assert asked == ["my_pp"]
    # "" switches pp off, and then no plugin, not even pp_rosu, is needed.
    off = settings_from({"pp": {"calculator": ""}, "plugins": {"disabled": ["pp_rosu"]}}, {})
    assert performance_calculator(load(off), off) is None


def test_a_second_load_in_one_process_keeps_every_hook() -> None:
    """Building the command line imports the plugins' command modules. A submodule named as a
    hook (`plugins/x/commands.py` beside `def commands`) replaced the package's hook function
    with the module, and the next plugin manager in that process lost those commands."""
    from core.cli import build_parser

    settings = settings_from({}, {})

    def commands() -> set[str]:
        parser = build_parser(load(settings))
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        return set(sub.choices)

    first = commands()
    assert {"user", "scores", "oauth"} <= first
    assert commands() == first


def test_no_plugin_module_shadows_a_hook_of_its_package() -> None:
    hook_names = {name for name in dir(hooks) if not name.startswith("_")}
    for info in discover(settings_from({}, {})):
        package = importlib.import_module(info.module)
        for module in pkgutil.iter_modules(getattr(package, "__path__", [])):
            assert module.name not in hook_names, f"{info.module}.{module.name} is a hook's name"
