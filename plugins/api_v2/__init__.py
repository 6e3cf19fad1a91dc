"""osu! API v2 under `/api/v2`: one module per area, each with a `ROUTES` list.

Every module of this package that defines `ROUTES` is served; adding an area needs no edit here.
"""

from __future__ import annotations

import importlib
import pkgutil

from starlette.routing import BaseRoute

from core.hooks import hookimpl
from core.jobs import Job
from core.scores.submit import purge_tokens


@hookimpl
def routes() -> list[BaseRoute]:
    found: list[BaseRoute] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.extend(getattr(module, "ROUTES", []))
    return found


@hookimpl
def jobs() -> list[Job]:
    # Score tokens are created by this plugin's solo score routes; expired unused ones go hourly.
    return [Job("score-token-purge", 3600.0, purge_tokens, once=True)]
