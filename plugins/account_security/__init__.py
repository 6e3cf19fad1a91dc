"""Account security: e-mail verification at sign-up, password reset by mail, lazer's session
verification (a mailed key or a TOTP code for a sign-in from a new device), TOTP with backup
codes, trusted devices, and the history of sign-ins (time, address, GeoIP country, client).
Settings: `[account_security]`, with `[mail]` for sending and `[geoip]` for countries.

Routes: `POST /api/v2/session/verify`, `.../reissue`, `.../mail-fallback` (as lazer sends them);
under `/api/private`: `password-reset`, `password-reset/complete`, `email/verify`,
`email/verify/resend`, `me/totp` (GET), `me/totp/setup`, `me/totp/enable`, `me/totp/disable`
and `me/logins`. Commands: `hitcircle security totp-disable NAME` (a player who lost their
authenticator), `hitcircle security verify-email NAME` and `hitcircle security logins NAME`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.routing import BaseRoute

from core.auth import api_route
from core.config import Section
from core.db import utcnow
from core.hooks import hookimpl
from core.jobs import Job
from core.services import services
from plugins.account_security import security, store, views

PRIVATE = "/api/private"


@hookimpl
def routes() -> list[BaseRoute]:
    lazer = "*"
    session = [
        ("/api/v2/session/verify", views.verify_session),
        ("/api/v2/session/verify/reissue", views.reissue),
        ("/api/v2/session/verify/mail-fallback", views.mail_fallback),
    ]
    return [
        *(
            api_route(path, view, methods=["POST"], scope="any", allow_unverified=True)
            for path, view in session
        ),
        api_route(f"{PRIVATE}/password-reset", views.reset_request, methods=["POST"], scope=None),
        api_route(
            f"{PRIVATE}/password-reset/complete", views.reset_complete, methods=["POST"], scope=None
        ),
        api_route(f"{PRIVATE}/email/verify", views.email_verify, methods=["POST"], scope=None),
        api_route(
            f"{PRIVATE}/email/verify/resend", views.email_resend, methods=["POST"], scope=None
        ),
        api_route(f"{PRIVATE}/me/logins", views.my_logins, scope=lazer),
        api_route(f"{PRIVATE}/me/totp", views.totp_status, scope=lazer),
        api_route(f"{PRIVATE}/me/totp/setup", views.totp_setup, methods=["POST"], scope=lazer),
        api_route(f"{PRIVATE}/me/totp/enable", views.totp_enable, methods=["POST"], scope=lazer),
        api_route(f"{PRIVATE}/me/totp/disable", views.totp_disable, methods=["POST"], scope=lazer),
    ]


@hookimpl
def settings_sections() -> list[Section]:
    return [security.SECTION]


@hookimpl
def tables(metadata: sa.MetaData) -> list[sa.Table]:
    return list(store.TABLES)


@hookimpl
def migration_dirs() -> list[str]:
    return [str(Path(__file__).parent / "migrations")]


@hookimpl
def startup(app: Any) -> None:
    # A broken [account_security] or [mail] section stops start-up, not the first sign-in.
    security.security_settings(services(app).settings)


@hookimpl
def user_registered(app: Any, user: Mapping[str, Any]) -> Any:
    svc = services(app)
    if not security.security_settings(svc.settings)["require_verified_email"]:
        return None

    async def run() -> None:
        await store.update_security(svc.db, int(user["id"]), email_required=True)
        views.in_background(views.mail_email_key(svc, user))

    return run()


@hookimpl
def login_refused(app: Any, user: Mapping[str, Any]) -> Any:
    async def run() -> str | None:
        if await views.email_pending(services(app), int(user["id"])):
            return "Verify your e-mail address first: the key is in the mail sent at sign-up."
        return None

    return run()


@hookimpl
def session_verification(app: Any, user: Mapping[str, Any], request: Request) -> Any:
    return security.verification_method(services(app), user, request)


@hookimpl
def user_logged_in(
    app: Any, user: Mapping[str, Any], token_id: str, verification: str | None, request: Request
) -> Any:
    if verification == "mail":
        # After the answer: a slow or failing mail server must not fail the sign-in (lazer can
        # ask for the key again with `session/verify/reissue`).
        views.in_background(security.mail_session_key(services(app), user, token_id))
    return security.record_login(services(app), user, request)


async def purge_keys(app: Any) -> None:
    """Forget mailed keys a day after they expired."""
    import datetime as dt

    await store.purge_keys(services(app).db, utcnow() - dt.timedelta(days=1))


@hookimpl
def jobs() -> list[Job]:
    return [Job("account-key-purge", 3600.0, purge_keys, once=True)]


@hookimpl
def commands(cli: Any) -> None:
    from plugins.account_security.cli import add_commands

    add_commands(cli)
