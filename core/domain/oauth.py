"""OAuth 2 storage: clients, access tokens, refresh tokens, authorization codes.

Secrets that a client presents (client secrets, refresh tokens, codes) are stored as sha256 hex
digests and compared in constant time. Access tokens are signed JWTs; their row is keyed by `jti`.
"""

from __future__ import annotations

import sqlalchemy as sa

from core.schema import TABLE_ARGS, metadata

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
    **TABLE_ARGS,
)
