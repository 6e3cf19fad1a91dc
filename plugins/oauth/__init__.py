"""OAuth 2 as osu-web serves it: `/oauth/token` (four grants), `/oauth/authorize`, revocation."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute, Route

from core.auth import api_route
from core.auth import store as oauth_db
from core.config import Section
from core.hooks import hookimpl
from core.jobs import Job
from core.services import services
from plugins.oauth import grants, views
from plugins.oauth.grants import oauth_settings, touch_authenticator


@hookimpl
def routes() -> list[BaseRoute]:
    return [
        Route("/oauth/token", views.token, methods=["POST"]),
        Route("/oauth/authorize", views.authorize_page, methods=["GET"]),
        Route("/oauth/authorize", views.authorize_submit, methods=["POST"]),
        Route("/oauth/authorize", views.authorize_deny, methods=["DELETE"]),
        api_route(
            "/api/v2/oauth/tokens/current", views.revoke_current, methods=["DELETE"], scope="any"
        ),
    ]


@hookimpl
def startup(app: Any) -> Any:
    async def run() -> None:
        touch_authenticator(services(app))
        conf = oauth_settings(services(app).settings)
        await oauth_db.ensure_builtin_client(services(app).db, conf["lazer_client_id"], "osu!lazer")

    return run()


# Expired rows are kept this long, so a late refresh or revocation still gets its precise error.
PURGE_GRACE = 86400.0


async def purge_tokens(app: Any) -> None:
    """The hourly job: forget access tokens, refresh tokens and codes long expired."""
    svc = services(app)
    await oauth_db.purge_expired(svc.db, svc.clock.time() - PURGE_GRACE)


@hookimpl
def jobs() -> list[Job]:
    return [Job("oauth-token-purge", 3600.0, purge_tokens, once=True)]


@hookimpl
def commands(cli: Any) -> None:
    from plugins.oauth.cli import add_commands

    add_commands(cli)


@hookimpl
def settings_sections() -> list[Section]:
    return [grants.SECTION]
