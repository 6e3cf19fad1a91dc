"""Plugin discovery and loading.

Built-in plugins are the packages under `plugins/`; third-party ones declare an entry point in the
group `hitcircle.plugins`; `plugins.modules` in config adds modules by import path. Discovery only
names them; only enabled plugins are imported, so a broken plugin can be switched off.

Loading is strict: an `@hookimpl` whose name is no hook (a typo) or whose arguments the hook does
not have stops start-up with one line naming the plugin, and so does a `[pp] calculator` that is
not an enabled plugin implementing `calculate_performance`, a hub method without a wire
signature (`core.signalr.hub.check_hubs`), a `storage.backend` no plugin provides, or any
configuration section that fails its checks (`core.config.check_sections`).
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

import pluggy
from loguru import logger

from core import hooks
from core.config import ConfigError, Key, Section, Settings, check_sections, did_you_mean

ENTRY_POINT_GROUP = "hitcircle.plugins"
BUILTIN_PACKAGE = "plugins"

PP_SECTION = Section(
    "pp",
    (
        Key(
            "calculator",
            "pp_rosu",
            "The plugin whose calculate_performance rates scores; empty: scores without pp.",
        ),
    ),
    "Performance points.",
)


class PluginError(Exception):
    """A plugin that cannot be loaded; `str()` is one line naming it."""


@dataclass(frozen=True)
class PluginInfo:
    name: str
    module: str
    source: str  # "built-in", "package <dist> <version>" or "config"
    enabled: bool


def discover(settings: Settings) -> list[PluginInfo]:
    found: dict[str, tuple[str, str]] = {}
    package = importlib.import_module(BUILTIN_PACKAGE)
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            found[info.name] = (f"{BUILTIN_PACKAGE}.{info.name}", "built-in")
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = f"package {ep.dist.name} {ep.dist.version}" if ep.dist else "package"
        found.setdefault(ep.name, (ep.value, dist))
    for module in settings.plugins.modules:
        found.setdefault(module.rsplit(".", 1)[-1], (module, "config"))
    enabled = set(settings.plugins.enabled) or set(found)
    disabled = set(settings.plugins.disabled)
    return [
        PluginInfo(name, module, source, name in enabled and name not in disabled)
        for name, (module, source) in sorted(found.items())
    ]


def _import(info: PluginInfo) -> ModuleType:
    try:
        return importlib.import_module(info.module.split(":", 1)[0])
    except Exception as exc:
        raise PluginError(
            f"plugin {info.name!r} ({info.module}) failed to import: {type(exc).__name__}: {exc}"
        ) from exc


def load(settings: Settings, extra: Iterable[object] = ()) -> pluggy.PluginManager:
    """A plugin manager holding every enabled plugin; `extra` registers objects directly (tests).

    Plugins are registered in name order, then the `extra` objects under pluggy's name for them
    (a module's `__name__`). Raises `PluginError` or `ConfigError`, one line each.
    """
    pm = pluggy.PluginManager(hooks.PROJECT)
    pm.add_hookspecs(hooks)
    infos = discover(settings)
    known = {info.name for info in infos}
    for key in ("enabled", "disabled"):
        for name in getattr(settings.plugins, key):
            if name not in known:
                raise ConfigError(
                    f"plugins.{key}",
                    f"no plugin named {name!r} is installed{did_you_mean(name, known, repr)}",
                )
    for info in infos:
        if info.enabled:
            _register(pm, _import(info), info.name)
    for plugin in extra:
        _register(pm, plugin, None)
    try:
        # register() checks implementations of known hooks; this catches the misspelled ones.
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise _unknown_hook(pm, exc) from exc
    _check_calculator(pm, settings, infos)
    _check_storage(pm, settings)
    # Imported here: the modules declaring core's sections, and hubs, import this module.
    from core.sections import core_sections
    from core.signalr.hub import check_hubs

    declared = [*core_sections(), *collect(pm.hook.settings_sections())]
    check_sections(settings, declared, _dormant_sections(infos))
    # Every hub method needs a wire signature.
    check_hubs(pm)
    return pm


def _check_storage(pm: pluggy.PluginManager, settings: Settings) -> None:
    """The backend `storage.backend` names exists, and takes its settings (a factory checks them
    when called, and connects to nothing before first use)."""
    factories = {
        name: factory
        for result in pm.hook.storage_backends()
        for name, factory in (result or {}).items()
    }
    names = set(factories)
    if settings.storage.backend in factories:
        factories[settings.storage.backend](settings)
        return
    if settings.storage.backend not in names:
        hint = did_you_mean(settings.storage.backend, names, repr)
        raise ConfigError(
            "storage.backend",
            f"{settings.storage.backend!r} is not provided by any enabled plugin{hint} "
            f"(available: {', '.join(sorted(names)) or 'none'})",
        )


def _dormant_sections(infos: list[PluginInfo]) -> set[str]:
    """Sections of disabled plugins, which the configuration may keep: a section named after the
    plugin, and for a built-in one what its `settings_sections` declares. Other disabled plugins
    are never imported (switching a broken one off must work), so only their name is known."""
    names: set[str] = set()
    for info in infos:
        if info.enabled:
            continue
        names.add(info.name)
        if info.source != "built-in":
            continue
        try:
            declare = getattr(_import(info), "settings_sections", None)
            names.update(section.name for section in (declare() if declare else None) or ())
        except Exception:  # disabled, perhaps because it does not import here
            continue
    return names


def commands_manager(settings: Settings) -> pluggy.PluginManager:
    """Enabled plugins that import and register, unchecked: only to list their CLI commands when
    the configuration (or a plugin) is broken, so `hitcircle` still shows every command."""
    pm = pluggy.PluginManager(hooks.PROJECT)
    pm.add_hookspecs(hooks)
    for info in discover(settings):
        if not info.enabled:
            continue
        try:
            pm.register(_import(info), name=info.name)
        except Exception:  # the command that runs reports the problem in one line
            continue
    return pm


def _register(pm: pluggy.PluginManager, plugin: object, name: str | None) -> None:
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise _invalid(name or _label(pm, plugin), exc) from exc


def _label(pm: pluggy.PluginManager, plugin: object) -> str:
    """The name to show for a plugin: its registered name, else its module or class name."""
    name = pm.get_name(plugin)
    if name is None or name == str(id(plugin)):
        # pluggy names an object without `__name__` by its id: the class says more.
        return getattr(plugin, "__name__", None) or type(plugin).__name__
    return name


def _invalid(label: str, exc: pluggy.PluginValidationError) -> PluginError:
    # pluggy's message spans lines: "Plugin 'x' for hook 'routes'", the definition, the problem.
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    hook = re.match(r"Plugin .* for hook '(\w+)'$", lines[0]) if lines else None
    if hook is not None:
        detail = "; ".join(lines[1:])
        return PluginError(f"plugin {label!r}: hook {hook.group(1)!r}: {detail}")
    return PluginError(f"plugin {label!r} is not valid: {'; '.join(lines)}")


def _unknown_hook(pm: pluggy.PluginManager, exc: pluggy.PluginValidationError) -> PluginError:
    label = _label(pm, exc.plugin)
    specs = [
        n for n, caller in vars(pm.hook).items() if not n.startswith("_") and caller.has_spec()
    ]
    for hook_name, caller in vars(pm.hook).items():
        if hook_name.startswith("_") or caller.has_spec():
            continue
        if any(impl.plugin is exc.plugin for impl in caller.get_hookimpls()):
            close = difflib.get_close_matches(hook_name, specs, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            return PluginError(f"plugin {label!r}: unknown hook {hook_name!r}{hint}")
    return _invalid(label, exc)


# --- the pp calculator -------------------------------------------------------------------------


def pp_settings(settings: Settings) -> dict[str, Any]:
    return PP_SECTION.read(settings)


def _calculators(pm: pluggy.PluginManager) -> list[str]:
    return [impl.plugin_name for impl in pm.hook.calculate_performance.get_hookimpls()]


def _check_calculator(
    pm: pluggy.PluginManager, settings: Settings, infos: list[PluginInfo]
) -> None:
    name = pp_settings(settings)["calculator"]
    calculators = _calculators(pm)
    if not name or name in calculators:
        return
    if pm.get_plugin(name) is not None:
        problem = f"plugin {name!r} has no calculate_performance hook"
    elif any(info.name == name for info in infos):
        problem = f"plugin {name!r} is disabled"
    else:
        problem = f"no plugin named {name!r} is installed"
    available = ", ".join(sorted(calculators)) or "none"
    raise ConfigError("pp.calculator", f'{problem} (calculators: {available}; "" for no pp)')


def performance_calculator(
    pm: pluggy.PluginManager, settings: Settings
) -> pluggy.HookCaller | None:
    """`calculate_performance` reaching only the plugin `pp.calculator` names (None: no pp).

    The hook is first-result, but its implementations return awaitables: every one "answers",
    so without this the plugin pluggy happens to call first would always be the calculator.
    """
    name = pp_settings(settings)["calculator"]
    if not name:
        return None
    others = [plugin for plugin_name, plugin in pm.list_name_plugin() if plugin_name != name]
    return pm.subset_hook_caller("calculate_performance", others)


async def resolve(value: Any) -> Any:
    """Await `value` if a hook returned an awaitable."""
    if inspect.isawaitable(value):
        return await value
    return value


async def fire(pm: pluggy.PluginManager, name: str, **kwargs: Any) -> None:
    """Call the event hook `name` and await what each implementation returned. One that raises
    is logged: an event must not fail the action it reports."""
    try:
        results = getattr(pm.hook, name)(**kwargs)
    except Exception:
        logger.exception("{} hook failed", name)
        return
    for result in results:
        try:
            await resolve(result)
        except Exception:
            logger.exception("{} hook failed", name)


def collect(results: Iterable[list[Any] | None]) -> list[Any]:
    """Flatten the lists a collect hook returned, skipping plugins that returned None."""
    return [item for result in results if result for item in result]
