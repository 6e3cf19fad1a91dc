"""osu! API v1 under `/api` (and `/api/v1`): one module per area, each with a `ROUTES` list.

Every module of this package that defines `ROUTES` is served; adding an area needs no edit here.
Each `/api/get_*` route also answers under `/api/v1/` (bots written for other servers use it).
"""

from __future__ import annotations

import importlib
import pkgutil

from starlette.routing import BaseRoute, Route

from core.hooks import hookimpl


@hookimpl
def routes() -> list[BaseRoute]:
    found: list[BaseRoute] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.extend(getattr(module, "ROUTES", []))
    paths = {getattr(r, "path", None) for r in found}
    twins: list[BaseRoute] = []
    for route in found:
        if isinstance(route, Route) and route.path.startswith("/api/get_"):
            twin = "/api/v1/" + route.path.removeprefix("/api/")
            if twin not in paths:
                twins.append(Route(twin, route.endpoint, methods=route.methods))
    return found + twins
