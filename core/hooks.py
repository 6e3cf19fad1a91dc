"""The hook specifications plugins implement, and the `hookimpl` marker they use.

pluggy is synchronous: a hook that has I/O to do returns an awaitable and the host awaits it
(`core.plugins.resolve`). Collect hooks return a list (or None) from each plugin.
"""

from __future__ import annotations

from typing import Any

import pluggy

PROJECT = "hitcircle"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def routes() -> list[Any] | None:
    """Starlette `Route`, `WebSocketRoute` and `Mount` objects served by the plugin."""


@hookspec
def tables(metadata: Any) -> list[Any] | None:
    """Define the plugin's own tables on `metadata` (a `sqlalchemy.MetaData`)."""


@hookspec
def migration_dirs() -> list[str] | None:
    """Alembic version directories of a packaged plugin's own tables (a branch of its own)."""


@hookspec
def hubs() -> list[Any] | None:
    """SignalR hub classes, mounted under `/signalr/{name}`."""


@hookspec
def jobs() -> list[Any] | None:
    """Periodic jobs (`core.jobs.Job`): a name, an interval in seconds and an async callable."""


@hookspec
def startup(app: Any) -> Any:
    """Open the plugin's resources; may return an awaitable."""


@hookspec
def shutdown(app: Any) -> Any:
    """Close the plugin's resources; may return an awaitable."""


@hookspec(firstresult=True)
def calculate_performance(beatmap: Any, score: Any) -> Any:
    """pp and difficulty for a score; the first plugin to answer wins."""


@hookspec
def beatmap_sources() -> list[Any] | None:
    """Where beatmap metadata and files come from, tried in configured order."""


@hookspec
def storage_backends() -> dict[str, Any] | None:
    """Storage backend factories by name: `{"local": factory}`; factory(settings) -> Storage."""


@hookspec
def score_processed(app: Any, score: Any) -> Any:
    """A score was stored and its statistics updated."""


@hookspec
def user_registered(app: Any, user: Any) -> Any:
    """A new account exists."""


@hookspec
def commands(cli: Any) -> None:
    """Add subcommands to the `hitcircle` CLI; `cli` is the argparse subparsers object."""
