"""osu! API v1 under `/api` (and `/api/v1`): one module per area, each with a `ROUTES` list.

Every module of this package that defines `ROUTES` is served; adding an area needs no edit here.
"""

from __future__ import annotations

import importlib
import pkgutil

from starlette.routing import BaseRoute

from core.hooks import hookimpl


@hookimpl
def routes() -> list[BaseRoute]:
    found: list[BaseRoute] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.extend(getattr(module, "ROUTES", []))
    return found
