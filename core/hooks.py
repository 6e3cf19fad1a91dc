"""The hook specifications plugins implement, and the `hookimpl` marker they use.

A plugin is a module (or any object) with `@hookimpl` functions named after the specs below; it
implements only the hooks it needs. `docs/plugins.md` shows each hook with an example.

Three kinds of hook:

- collect: every enabled plugin is called; each returns a list (or dict) or None, and the host
  joins what came back.
- event: every enabled plugin is called to hear that something happened; the return value is
  only awaited, never used.
- selected: one plugin, named in the configuration, is asked (`calculate_performance`).

Call order is pluggy's: the plugin registered last is called first. The host registers plugins
in name order (built-in, entry-point and `[plugins] modules` plugins together), then the extra
plugins `create_app(settings, extra_plugins=...)` was given; `@hookimpl(tryfirst=True)` or
`trylast=True` moves an implementation to the front or the back.

pluggy is synchronous: a hook that has I/O to do returns an awaitable (an `async def`
implementation does that by itself) and the host awaits it (`core.plugins.resolve`). The host
first calls every implementation, then awaits the awaitables one by one in call order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any, NotRequired, TypeAlias, TypedDict, TypeVar

import pluggy

if TYPE_CHECKING:
    import argparse

    import sqlalchemy as sa
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

    from core.auth.authorize import Authorization
    from core.beatmaps.sources import BeatmapSource
    from core.config import Section
    from core.jobs import Job
    from core.medals.awarding import MedalRule
    from core.signalr.hub import Hub
    from core.storage import StorageFactory

PROJECT = "hitcircle"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

T = TypeVar("T")
# What an implementation may return where the host awaits: the value, or an awaitable of it.
MaybeAwaitable: TypeAlias = T | Awaitable[T]


class Performance(TypedDict):
    """What `calculate_performance` answers for one score."""

    pp: float
    # Star rating with the score's mods (shown nowhere yet; kept for plugins that want it).
    stars: NotRequired[float]
    # The beatmap's maximum combo with the score's mods.
    max_combo: NotRequired[int]
    # Judged objects of the beatmap with the score's mods: a submission claiming more basic
    # judgements than this is refused (422). Leave it out and the host skips that check.
    max_judgements: NotRequired[int]


# --- serving -----------------------------------------------------------------------------------


@hookspec
def routes() -> list[BaseRoute] | None:
    """The plugin's HTTP and WebSocket endpoints.

    Kind: collect. Sync: return the list itself, not an awaitable.

    Returns Starlette `Route`, `WebSocketRoute` and `Mount` objects (or None for none).

    Called once by `create_app`, before the app serves anything. The lists are joined in call
    order after the host's own `/health` route, and Starlette serves a request with the first
    route that matches: when two plugins serve the same path, the one called first wins.
    """


@hookspec
def not_found_page(request: Request) -> MaybeAwaitable[Response | None]:
    """A page for a request no route serves, in place of the JSON 404.

    Kind: collect. May return an awaitable; the host awaits it.

    Called for a GET or HEAD that matched no route (the API's own 404s for unknown objects are
    not affected). The first response (in call order) is sent as it is; None keeps the JSON
    `{"error": null}` osu-web answers. A site answers only requests that want HTML (a browser's
    `Accept`) and leaves API clients theirs.
    """


@hookspec
def authorize_page(
    request: Request, authorization: Authorization
) -> MaybeAwaitable[Response | None]:
    """The OAuth consent page (`GET /oauth/authorize`) and its answer (`POST`), in a site's style.

    Kind: collect. May return an awaitable; the host awaits it.

    Called by the `oauth` plugin once the authorize request is valid (`core.auth.authorize`
    checked client, redirect URI, response type, scopes and PKCE): `authorization` holds the
    client row, scopes, state and challenge. The first response (in call order) is sent as it
    is; when every plugin answers None, the `oauth` plugin's own page (sign in with a password
    and approve) is used. An implementation that approves issues the code with
    `core.auth.authorize.approved_url` after `check_scope_policy`, and redirects a refusal to
    `denied_url`. The `web` plugin answers with the site's consent page for its signed-in users
    (and sends a signed-out browser to its sign-in page), and handles its own form's POST.
    """


@hookspec
def openapi_schemas() -> dict[str, dict[str, Any]] | None:
    """JSON Schemas of the plugin's response shapes, for the API reference (`/openapi.json`).

    Kind: collect. Sync.

    Returns name -> JSON Schema (draft 2020-12, as OpenAPI 3.1 takes it). The names join
    core's (`core.openapi_schemas`: `User`, `Beatmap`, `Score`, ...) under
    `components/schemas`; a route refers to one with `core.openapi.describe(responses={200:
    "Name"})` next to its handler, and the suite validates live responses against it. A plugin
    naming one of core's shapes replaces it.

    Called each time the document is built (`GET /openapi.json`, `/docs`).
    """


@hookspec
def hubs() -> list[type[Hub]] | None:
    """The plugin's SignalR hubs.

    Kind: collect. Sync.

    Returns `core.signalr.Hub` subclasses (classes, not instances). Each is served under
    `/signalr/{Hub.name}` (negotiate, WebSocket transport, groups across workers). Every
    `@hub_method` needs a wire signature: `@hub_method(args=(...), returns=...)` next to it, or
    the name in core's protocol tables; one without stops start-up (checked when plugins load,
    so `hitcircle config check` reports it too). Callbacks go in `Hub.callbacks`.

    Called once by `create_app`, after `routes`. Two hubs with the same `name` stop start-up with
    a `ConfigError`. The host makes one instance of each hub per app right then and starts it
    when the app starts, after every `startup` implementation has finished.
    """


@hookspec
def jobs() -> list[Job] | None:
    """Periodic work: `core.jobs.Job(name, interval, run, run_at_start=False, once=False)`.

    Kind: collect. Sync: return the jobs; `Job.run` is an `async def` taking the app.

    Called once when the app starts (in the lifespan, after the database and the cache are open
    and before `startup`). Each job runs every `interval` seconds (the first time right away when
    `run_at_start` is set) until shutdown; a job that raises is logged and tried again next
    interval. A job with `once=True` runs once per interval across every worker and host sharing
    the cache: its ticks are whole multiples of `interval` on the wall clock, and the worker that
    claims a tick in `services(app).cache` (SET NX) runs it while the others skip it.
    """


@hookspec
def startup(app: Starlette) -> MaybeAwaitable[None]:
    """Open the plugin's resources: clients, pools, default rows, background tasks.

    Kind: event. May return an awaitable (or be an `async def`); the host awaits it.

    `app` is the Starlette app; `services(app)` holds `settings`, `db`, `cache`, `storage`,
    `plugins` and `hubs`. Called once per worker when the app starts, after the database and the
    cache are open and the jobs are listed, before the hubs start and before the first request.
    Implementations are awaited one after the other in call order; one that raises stops
    start-up.
    """


@hookspec
def shutdown(app: Starlette) -> MaybeAwaitable[None]:
    """Close what `startup` opened.

    Kind: event. May return an awaitable; the host awaits it.

    Called once per worker when the app stops (also after a failed start-up), after the jobs and
    hubs are stopped and before the cache and the database close. Implementations are awaited in
    call order; one that raises is logged and the others still run.
    """


# --- configuration -----------------------------------------------------------------------------


@hookspec
def settings_sections() -> list[Section] | None:
    """The plugin's sections of the configuration file: `core.config.Section(name, keys, doc)`.

    Kind: collect. Sync: return the declarations, reading nothing.

    Each `core.config.Key(name, default, doc, min=, max=, choices=, check=, path=)` takes its
    type from its default (bool, int, float, str, tuple of str, dict of str). Called whenever the
    plugins load (`serve` in its parent process before any worker starts, `config check`, every
    CLI command, `create_app`): every declared section is read from the file and
    `HITCIRCLE_<SECTION>_<KEY>` variables and checked then, so a wrong type, a value out of range
    or an unknown key stops start-up with one line. A section or variable that no enabled plugin
    (nor core) declares is an error too; those of a disabled plugin are ignored. The plugin reads
    its checked values with `SECTION.read(settings)`. Two declarations of one name are an error.
    """


# --- schema ------------------------------------------------------------------------------------


@hookspec
def tables(metadata: sa.MetaData) -> list[sa.Table] | None:
    """The plugin's own tables, so migrations and `services(app).metadata` know them.

    Kind: collect. Sync.

    `metadata` is the shared `sqlalchemy.MetaData` with every core table; a plugin may define its
    tables on it directly, or define them at import time on a MetaData of its own
    (`core.schema.plugin_metadata()`, which names constraints the same way) and return them: the
    host copies each returned table not yet on `metadata` onto it.

    Called whenever the full schema is built: by `create_app`, by `hitcircle migrate` and by
    `serve` before migrating. Order does not matter. The tables themselves are created by the
    plugin's migrations (`migration_dirs`); Alembic's autogenerate compares against them.
    """


@hookspec
def migration_dirs() -> list[str] | None:
    """Alembic version directories holding the migrations of the plugin's own tables.

    Kind: collect. Sync.

    Returns absolute paths. Each directory is a branch of its own: its first revision has
    `down_revision = None` and a `branch_labels` entry, so it never conflicts with core's
    revisions. Called by `hitcircle migrate` (and `serve`, which migrates a fresh database)
    before Alembic upgrades every head. Order does not matter.
    """


# --- scores and beatmaps -----------------------------------------------------------------------


@hookspec(firstresult=True)
def calculate_performance(
    beatmap: Mapping[str, Any], score: Mapping[str, Any]
) -> MaybeAwaitable[Performance | None]:
    """pp and difficulty of one score.

    Kind: selected (declared first-result). Only the plugin named by the `[pp] calculator` setting
    (default `pp_rosu`) is asked, through `core.plugins.performance_calculator`: implementations
    return awaitables, which pluggy counts as answers, so first-result alone would let whichever
    plugin is called first win. A name that is not an enabled plugin implementing this hook stops
    start-up; `""` stores scores without pp. May return an awaitable, which the host awaits (a
    difficulty calculation holds the GIL: run it in `core.beatmaps.difficulty.run`'s pool).

    `beatmap` is the `beatmaps` row plus `osu_file`, the `.osu` bytes. `score` has `ruleset_id`,
    `mods` (lazer mods: `[{"acronym": "DT", "settings": {...}}]`), `statistics` and
    `maximum_statistics` (lazer hit result name -> count), `max_combo`, `accuracy` and `passed`.

    Returns a `Performance` (`pp` at least) or None when the plugin cannot rate the score (the
    score is then stored without pp). Called during every score submission (solo and rooms)
    whose beatmap has a `.osu` file, before the score is stored and whether or not the score is
    eligible for pp (only eligible scores keep the pp), and by `hitcircle recalc` for each
    eligible stored score.
    """


@hookspec
def beatmap_sources() -> list[BeatmapSource] | None:
    """Where beatmap metadata and files come from: objects of the `BeatmapSource` protocol.

    Kind: collect. Sync: return the sources; their methods are `async def`.

    Each source has a unique `name` (also stored as `origin` on the sets it provides). Sources are
    used in the order of the `[beatmaps] sources` setting; a name no enabled plugin provides is
    skipped, and a source that is not named there is never asked. When two plugins offer the same
    name, the one called first is used. Called whenever a lookup misses the database, a `.osu`
    file or a download is needed, or an unsettled set is due for a refresh.
    """


@hookspec
def storage_backends() -> dict[str, StorageFactory] | None:
    """File storage backends by name: `{"s3": factory}`.

    Kind: collect. Sync.

    A factory takes the `Settings` and returns a `core.storage.Storage` (replays, avatars,
    `.osu` files and beatmap archives). The `[storage] backend` setting picks one factory by name
    when the app (or a CLI command) is built; a name no enabled plugin provides stops start-up.
    The dicts are merged in call order, so on a name clash the plugin called last wins.
    """


@hookspec
def medal_rules(app: Starlette) -> list[MedalRule] | None:
    """Rules that award medals (osu-web achievements) for a processed score.

    Kind: collect. Sync: return the rules; a rule may be an `async def`.

    A rule is a callable taking a `core.medals.awarding.MedalContext` (`score`, the stored score
    row with `mods` decoded; `beatmap`; `stars`, the nomod star rating in the score's ruleset;
    `statistics`, the user's `user_statistics` row for that ruleset; `held`, the medal ids the
    user has) and returning an iterable of catalogue medal ids (`core/medals/catalogue.json`) or
    None. Called after every solo or room submission has committed, and by `hitcircle recalc`
    for every stored passed score. Ids the user holds are skipped; an id not in the catalogue, or
    a rule that raises, is logged and ignored. Each medal is stored once per user (concurrent
    submissions included) and its unlock is pushed to the player's notification websocket.
    The built-in `medals` plugin holds the official rules.
    """


# --- events ------------------------------------------------------------------------------------


@hookspec
def score_processed(app: Starlette, score: dict[str, Any]) -> MaybeAwaitable[None]:
    """A score was stored and its user's statistics updated.

    Kind: event. May return an awaitable; the host awaits it.

    `score` is the stored row of the `scores` table as a dict (`id`, `user_id`, `beatmap_id`,
    `ruleset_id`, `total_score`, `accuracy`, `pp`, `passed`, `rank`, `mods`, `statistics`, ...).
    Called after a solo or room score submission has committed, on the worker that stored it,
    before the client gets its answer; a retried submission of the same token does not fire it
    again. An implementation that raises is logged and does not fail the submission.
    """


@hookspec
def user_registered(app: Starlette, user: Mapping[str, Any]) -> MaybeAwaitable[None]:
    """A new account was created through the in-game sign-up (`POST /users`).

    Kind: event. May return an awaitable; the host awaits it.

    `user` is the new row of the `users` table (`id`, `username`, `country_code`, ...). Called
    after the row is stored and before the client gets its answer, in call order. An
    implementation that raises fails that request with a 500 (the account exists regardless).
    """


@hookspec
def login_refused(app: Starlette, user: Mapping[str, Any]) -> MaybeAwaitable[str | None]:
    """Whether `user`, whose password was right, may not sign in now: a message saying why.

    Kind: collect. May return an awaitable; the host awaits it.

    Called by the password grant of `/oauth/token` after the password checked out and before a
    token is made. The first message (in call order) refuses the sign-in with 400
    `invalid_grant` and the message as its hint, which lazer shows; None lets it through.
    """


@hookspec
def session_verification(
    app: Starlette, user: Mapping[str, Any], request: Request
) -> MaybeAwaitable[str | None]:
    """The second factor a new password sign-in must give before it may change anything:
    "mail" or "totp", or None.

    Kind: collect. May return an awaitable; the host awaits it.

    Called by the password grant after `login_refused`, with the sign-in request (its address
    and user agent tell the device). The first method named wins; the token is made waiting for
    it: lazer sees `session_verification_method` on `/me`, asks the player, and calls
    `POST /api/v2/session/verify`. Every other grant makes verified tokens.
    """


@hookspec
def user_logged_in(
    app: Starlette,
    user: Mapping[str, Any],
    token_id: str,
    verification: str | None,
    request: Request,
) -> MaybeAwaitable[None]:
    """A password sign-in succeeded and its token was made (`token_id`, the JWT's `jti`; empty
    for a sign-in to the web site, which makes no API token).

    Kind: event. May return an awaitable; the host awaits it.

    `verification` is the second factor the session waits for (see `session_verification`), or
    None. Called before the token goes to the client, in call order; one that raises is logged
    and the sign-in still succeeds.
    """


# --- command line ------------------------------------------------------------------------------


@hookspec
def commands(cli: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add subcommands to the `hitcircle` command line.

    Kind: collect (by side effect). Sync: returns nothing.

    `cli` is the argparse subparsers object of `hitcircle`: `cli.add_parser("name")` adds a
    command; `set_defaults(func=...)` gives it a function taking the parsed `argparse.Namespace`
    and returning the exit code. Called each time `hitcircle` runs, with the configured plugins,
    before the arguments are parsed. Built-in commands are added first; a name that is already
    taken makes argparse fail.
    """
