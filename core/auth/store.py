"""OAuth 2 storage: clients, access tokens, refresh tokens, authorization codes.

Secrets that a client presents (client secrets, refresh tokens, codes) are stored as sha256 hex
digests and compared in constant time. Access tokens are signed JWTs; their row is keyed by `jti`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from databases import Database

from core.db import utcnow
from core.schema import TABLE_ARGS, metadata
from core.users.store import record

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

oauth_clients = sa.Table(
    "oauth_clients",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=True,
        index=True,
    ),
    sa.Column("name", sa.String(100), nullable=False),
    # NULL for built-in clients, whose secrets come from the configuration.
    sa.Column("secret_hash", sa.String(64), nullable=True),
    sa.Column("redirect", sa.String(512), nullable=False, default=""),
    sa.Column("password_client", sa.Boolean(), nullable=False, default=False),
    sa.Column("revoked", sa.Boolean(), nullable=False, default=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    **TABLE_ARGS,
)

oauth_access_tokens = sa.Table(
    "oauth_access_tokens",
    metadata,
    sa.Column("id", sa.String(80), primary_key=True),  # the JWT's jti
    sa.Column("user_id", sa.BigInteger(), nullable=True, index=True),
    sa.Column("client_id", sa.BigInteger(), nullable=False, index=True),
    sa.Column("scopes", sa.String(255), nullable=False),  # space-separated, sorted
    sa.Column("revoked", sa.Boolean(), nullable=False, default=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("expires_at", sa.DateTime(), nullable=False),
    # A session still to verify (a second factor after a password sign-in): the method asked
    # for, "mail" or "totp"; None once verified (and for every token born verified).
    sa.Column("verification", sa.String(8), nullable=True),
    # The grant a chain of refreshed tokens descends from (`family_of_code` for a code, else the
    # first token's jti); a replayed code or refresh token revokes the whole family.
    sa.Column("family", sa.String(80), nullable=True, index=True),
    **TABLE_ARGS,
)

oauth_refresh_tokens = sa.Table(
    "oauth_refresh_tokens",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # sha256 hex of the token
    sa.Column("access_token_id", sa.String(80), nullable=False, index=True),
    sa.Column("revoked", sa.Boolean(), nullable=False, default=False),
    sa.Column("expires_at", sa.DateTime(), nullable=False),
    **TABLE_ARGS,
)

oauth_auth_codes = sa.Table(
    "oauth_auth_codes",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # sha256 hex of the code
    sa.Column("user_id", sa.BigInteger(), nullable=False),
    sa.Column("client_id", sa.BigInteger(), nullable=False),
    sa.Column("scopes", sa.String(255), nullable=False),
    sa.Column("redirect_uri", sa.String(512), nullable=True),
    sa.Column("revoked", sa.Boolean(), nullable=False, default=False),
    sa.Column("expires_at", sa.DateTime(), nullable=False),
    # PKCE (RFC 7636): the challenge the authorize request sent and its method (S256 or plain).
    sa.Column("code_challenge", sa.String(128), nullable=True),
    sa.Column("code_challenge_method", sa.String(8), nullable=True),
    **TABLE_ARGS,
)


def _at(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC).replace(tzinfo=None)


# --- clients -----------------------------------------------------------------------------------


async def get_client(db: Database, client_id: int) -> dict[str, Any] | None:
    row = await db.fetch_one(sa.select(oauth_clients).where(oauth_clients.c.id == client_id))
    if row is None:
        return None
    result = record(row)
    result["password_client"] = bool(result["password_client"])
    result["revoked"] = bool(result["revoked"])
    return result


async def ensure_builtin_client(db: Database, client_id: int, name: str) -> None:
    """The row of a built-in client (lazer's id 5) whose secrets live in the configuration."""
    if await db.fetch_val(sa.select(oauth_clients.c.id).where(oauth_clients.c.id == client_id)):
        return
    now = utcnow()
    try:
        await db.execute(
            oauth_clients.insert().values(
                id=client_id,
                user_id=None,
                name=name,
                secret_hash=None,
                redirect="",
                password_client=True,
                revoked=False,
                created_at=now,
                updated_at=now,
            )
        )
    except Exception:
        # Another worker inserted it first.
        if not await db.fetch_val(
            sa.select(oauth_clients.c.id).where(oauth_clients.c.id == client_id)
        ):
            raise


async def create_client(
    db: Database, *, user_id: int | None, name: str, secret_hash: str, redirect: str
) -> int:
    now = utcnow()
    return int(
        await db.execute(
            oauth_clients.insert().values(
                user_id=user_id,
                name=name,
                secret_hash=secret_hash,
                redirect=redirect,
                password_client=False,
                revoked=False,
                created_at=now,
                updated_at=now,
            )
        )
    )


async def user_clients(db: Database, user_id: int) -> list[dict[str, Any]]:
    rows = await db.fetch_all(
        sa.select(oauth_clients)
        .where(oauth_clients.c.user_id == user_id, oauth_clients.c.revoked.is_(False))
        .order_by(oauth_clients.c.id)
    )
    return [record(r) for r in rows]


async def update_client(db: Database, client_id: int, **values: Any) -> None:
    values["updated_at"] = utcnow()
    await db.execute(oauth_clients.update().where(oauth_clients.c.id == client_id).values(**values))


# --- access and refresh tokens -----------------------------------------------------------------


async def insert_access_token(
    db: Database,
    *,
    jti: str,
    user_id: int | None,
    client_id: int,
    scopes: Sequence[str],
    created_at: float,
    expires_at: float,
    verification: str | None = None,
    family: str | None = None,
) -> None:
    await db.execute(
        oauth_access_tokens.insert().values(
            id=jti,
            user_id=user_id,
            client_id=client_id,
            scopes=" ".join(scopes),
            revoked=False,
            created_at=_at(created_at),
            expires_at=_at(expires_at),
            verification=verification,
            family=family,
        )
    )


async def set_verification(db: Database, jti: str, method: str | None) -> None:
    """Mark a token's session as still to verify by `method`, or (None) as verified."""
    await db.execute(
        oauth_access_tokens.update()
        .where(oauth_access_tokens.c.id == jti)
        .values(verification=method)
    )


async def access_token_row(db: Database, jti: str) -> dict[str, Any] | None:
    """What the per-request check needs, JSON-able for the cache."""
    row = await db.fetch_one(
        sa.select(
            oauth_access_tokens.c.user_id,
            oauth_access_tokens.c.client_id,
            oauth_access_tokens.c.scopes,
            oauth_access_tokens.c.revoked,
            oauth_access_tokens.c.verification,
            oauth_clients.c.revoked.label("client_revoked"),
        )
        .select_from(
            oauth_access_tokens.outerjoin(
                oauth_clients, oauth_clients.c.id == oauth_access_tokens.c.client_id
            )
        )
        .where(oauth_access_tokens.c.id == jti)
    )
    if row is None:
        return None
    m = row
    return {
        "user_id": None if m["user_id"] is None else int(m["user_id"]),
        "client_id": int(m["client_id"]),
        "scopes": m["scopes"],
        # A token of a deleted or revoked client is dead too.
        "revoked": bool(m["revoked"]) or m["client_revoked"] is None or bool(m["client_revoked"]),
        "verification": m["verification"],
    }


async def active_token_ids(
    db: Database, *, user_id: int | None = None, client_id: int | None = None
) -> list[str]:
    query = sa.select(oauth_access_tokens.c.id).where(oauth_access_tokens.c.revoked.is_(False))
    if user_id is not None:
        query = query.where(oauth_access_tokens.c.user_id == user_id)
    if client_id is not None:
        query = query.where(oauth_access_tokens.c.client_id == client_id)
    return [r[0] for r in await db.fetch_all(query)]


def family_of_code(code_hash: str) -> str:
    """The token family an authorization code's tokens (and their refreshes) belong to."""
    return "code:" + code_hash


async def family_token_ids(db: Database, family: str) -> list[str]:
    """The unrevoked access tokens of a family."""
    rows = await db.fetch_all(
        sa.select(oauth_access_tokens.c.id).where(
            oauth_access_tokens.c.family == family, oauth_access_tokens.c.revoked.is_(False)
        )
    )
    return [r[0] for r in rows]


async def token_owners(db: Database, jtis: Sequence[str]) -> dict[int, list[str]]:
    """The user of each token that has one: user id -> its token ids among `jtis`."""
    owners: dict[int, list[str]] = {}
    ids = list(jtis)
    for start in range(0, len(ids), 500):
        rows = await db.fetch_all(
            sa.select(oauth_access_tokens.c.user_id, oauth_access_tokens.c.id).where(
                oauth_access_tokens.c.id.in_(ids[start : start + 500]),
                oauth_access_tokens.c.user_id.is_not(None),
            )
        )
        for row in rows:
            owners.setdefault(int(row[0]), []).append(row[1])
    return owners


async def revoke_access_tokens(db: Database, jtis: Sequence[str]) -> None:
    ids = list(jtis)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        await db.execute(
            oauth_access_tokens.update()
            .where(oauth_access_tokens.c.id.in_(chunk))
            .values(revoked=True)
        )
        await db.execute(
            oauth_refresh_tokens.update()
            .where(oauth_refresh_tokens.c.access_token_id.in_(chunk))
            .values(revoked=True)
        )


async def insert_refresh_token(
    db: Database, *, token_hash: str, access_token_id: str, expires_at: float
) -> None:
    await db.execute(
        oauth_refresh_tokens.insert().values(
            id=token_hash,
            access_token_id=access_token_id,
            revoked=False,
            expires_at=_at(expires_at),
        )
    )


async def refresh_token_row(db: Database, token_hash: str) -> dict[str, Any] | None:
    row = await db.fetch_one(
        sa.select(
            oauth_refresh_tokens.c.id,
            oauth_refresh_tokens.c.revoked,
            oauth_refresh_tokens.c.expires_at,
            oauth_access_tokens.c.id.label("access_token_id"),
            oauth_access_tokens.c.family,
            oauth_access_tokens.c.user_id,
            oauth_access_tokens.c.client_id,
            oauth_access_tokens.c.scopes,
            oauth_access_tokens.c.verification,
        )
        .select_from(
            oauth_refresh_tokens.join(
                oauth_access_tokens,
                oauth_access_tokens.c.id == oauth_refresh_tokens.c.access_token_id,
            )
        )
        .where(oauth_refresh_tokens.c.id == token_hash)
    )
    return None if row is None else record(row)


async def use_refresh_token(db: Database, token_hash: str) -> bool:
    """Revoke a refresh token; False when it was already revoked (a concurrent refresh won)."""
    result = await db.execute(
        oauth_refresh_tokens.update()
        .where(oauth_refresh_tokens.c.id == token_hash, oauth_refresh_tokens.c.revoked.is_(False))
        .values(revoked=True)
    )
    return bool(result)


# --- authorization codes -----------------------------------------------------------------------


async def insert_auth_code(
    db: Database,
    *,
    code_hash: str,
    user_id: int,
    client_id: int,
    scopes: Sequence[str],
    redirect_uri: str | None,
    expires_at: float,
    code_challenge: str | None = None,
    code_challenge_method: str | None = None,
) -> None:
    await db.execute(
        oauth_auth_codes.insert().values(
            id=code_hash,
            user_id=user_id,
            client_id=client_id,
            scopes=" ".join(scopes),
            redirect_uri=redirect_uri,
            revoked=False,
            expires_at=_at(expires_at),
            code_challenge=code_challenge,
            code_challenge_method=code_challenge_method,
        )
    )


async def auth_code_row(db: Database, code_hash: str) -> dict[str, Any] | None:
    row = await db.fetch_one(sa.select(oauth_auth_codes).where(oauth_auth_codes.c.id == code_hash))
    return None if row is None else record(row)


async def use_auth_code(db: Database, code_hash: str) -> bool:
    result = await db.execute(
        oauth_auth_codes.update()
        .where(oauth_auth_codes.c.id == code_hash, oauth_auth_codes.c.revoked.is_(False))
        .values(revoked=True)
    )
    return bool(result)


async def purge_expired(db: Database, before: float) -> int:
    """Delete OAuth rows that expired before `before` (seconds since the epoch); how many.

    Codes and refresh tokens go first; an access token goes once no refresh token still refers
    to it (a refresh reads its access token's user, client and scopes).
    """
    cutoff = _at(before)
    deleted = 0
    for table in (oauth_auth_codes, oauth_refresh_tokens):
        deleted += int(await db.execute(table.delete().where(table.c.expires_at < cutoff)) or 0)
    referred = sa.select(oauth_refresh_tokens.c.access_token_id)
    deleted += int(
        await db.execute(
            oauth_access_tokens.delete().where(
                oauth_access_tokens.c.expires_at < cutoff,
                oauth_access_tokens.c.id.not_in(referred),
            )
        )
        or 0
    )
    return deleted
