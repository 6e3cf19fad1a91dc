"""plugins.oauth's purge job: long-expired tokens and codes go, live ones and their chains stay."""

from __future__ import annotations

import sqlalchemy as sa
from starlette.applications import Starlette

from core.auth import store as oauth_db
from core.clock import ManualClock
from core.services import services
from core.testing import advance
from plugins.oauth import PURGE_GRACE


async def test_the_purge_job_forgets_long_expired_rows(
    app: Starlette, clock: ManualClock, token: str
) -> None:
    db = services(app).db
    now = clock.time()
    old = now - PURGE_GRACE - 10
    for jti, expires in (("dead", old), ("recent", now - 10), ("refreshable", old)):
        await oauth_db.insert_access_token(
            db,
            jti=jti,
            user_id=None,
            client_id=5,
            scopes=["public"],
            created_at=expires - 86400,
            expires_at=expires,
        )
    # A refresh token still valid keeps its (expired) access token: a refresh reads it.
    await oauth_db.insert_refresh_token(
        db, token_hash="a" * 64, access_token_id="refreshable", expires_at=now + 3600
    )
    await oauth_db.insert_refresh_token(
        db, token_hash="b" * 64, access_token_id="dead", expires_at=old
    )
    await oauth_db.insert_auth_code(
        db, code_hash="c" * 64, user_id=1, client_id=5, scopes=["public"], redirect_uri=None,
        expires_at=old,
    )  # fmt: skip
    # The hourly job, run by moving the app's clock to its next tick.
    await advance(app, 3600)
    ids = {row[0] for row in await db.fetch_all(sa.select(oauth_db.oauth_access_tokens.c.id))}
    assert "dead" not in ids and {"recent", "refreshable"} <= ids
    assert await oauth_db.refresh_token_row(db, "a" * 64) is not None
    assert await oauth_db.refresh_token_row(db, "b" * 64) is None
    assert await oauth_db.auth_code_row(db, "c" * 64) is None
    # Besides the test's own token, which is untouched.
    assert len(ids) == 3
