"""Plugin discovery and loading.

Built-in plugins are the packages under `plugins/`; third-party ones declare an entry point in the
group `hitcircle.plugins`; `plugins.modules` in config adds modules by import path. Discovery only
names them; only enabled plugins are imported, so a broken plugin can be switched off.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

import pluggy

from core import hooks
from core.config import Settings

ENTRY_POINT_GROUP = "hitcircle.plugins"
BUILTIN_PACKAGE = "plugins"


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
    """A plugin manager holding every enabled plugin; `extra` registers objects directly (tests)."""
    pm = pluggy.PluginManager(hooks.PROJECT)
    pm.add_hookspecs(hooks)
    infos = discover(settings)
    known = {info.name for info in infos}
    for name in (*settings.plugins.enabled, *settings.plugins.disabled):
        if name not in known:
            raise PluginError(f"plugin {name!r} named in config is not installed")
    for info in infos:
        if info.enabled:
            try:
                pm.register(_import(info), name=info.name)
            except pluggy.PluginValidationError as exc:
                raise PluginError(f"plugin {info.name!r} is not valid: {exc}") from exc
    for plugin in extra:
        pm.register(plugin)
    return pm


async def resolve(value: Any) -> Any:
    """Await `value` if a hook returned an awaitable."""
    if inspect.isawaitable(value):
        return await value
    return value


def collect(results: Iterable[list[Any] | None]) -> list[Any]:
    """Flatten the lists a collect hook returned, skipping plugins that returned None."""
    return [item for result in results if result for item in result]
