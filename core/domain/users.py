"""Accounts: users, their previous usernames, friend/block relations and API v1 keys.

Tables here, and the SQL that reads and writes them. Handlers call these functions; the API shapes
are built in `core.domain.user_shapes`.
"""

from __future__ import annotations

import sqlalchemy as sa

from core.schema import TABLE_ARGS, metadata

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(32), nullable=False),
    # Lower case with spaces as underscores: osu-web treats "a b", "A_B" as the same name.
    sa.Column("username_clean", sa.String(32), nullable=False, unique=True),
    sa.Column("email", sa.String(254), nullable=True, index=True),
    sa.Column("password_hash", sa.String(100), nullable=False),
    sa.Column("country_code", sa.String(2), nullable=False),
    sa.Column("join_date", sa.DateTime(), nullable=False),
    sa.Column("last_visit", sa.DateTime(), nullable=True),
    sa.Column("playmode", sa.SmallInteger(), nullable=False, default=0),
    sa.Column("restricted", sa.Boolean(), nullable=False, default=False),
    sa.Column("silenced_until", sa.DateTime(), nullable=True),
    sa.Column("is_bot", sa.Boolean(), nullable=False, default=False),
    sa.Column("is_deleted", sa.Boolean(), nullable=False, default=False),
    sa.Column("support_level", sa.SmallInteger(), nullable=False, default=0),
    sa.Column("has_supported", sa.Boolean(), nullable=False, default=False),
    sa.Column("pm_friends_only", sa.Boolean(), nullable=False, default=False),
    sa.Column("hide_presence", sa.Boolean(), nullable=False, default=False),
    sa.Column("title", sa.String(64), nullable=True),
    sa.Column("title_url", sa.String(255), nullable=True),
    sa.Column("profile_colour", sa.String(7), nullable=True),
    sa.Column("profile_hue", sa.SmallInteger(), nullable=True),
    sa.Column("location", sa.String(64), nullable=True),
    sa.Column("interests", sa.String(255), nullable=True),
    sa.Column("occupation", sa.String(64), nullable=True),
    sa.Column("twitter", sa.String(64), nullable=True),
    sa.Column("discord", sa.String(64), nullable=True),
    sa.Column("website", sa.String(255), nullable=True),
    # Comma-separated subset of mouse,keyboard,tablet,touch.
    sa.Column("playstyle", sa.String(64), nullable=True),
    sa.Column("page_raw", sa.Text(), nullable=True),
    sa.Column("avatar_url", sa.String(255), nullable=True),
    sa.Column("cover_url", sa.String(255), nullable=True),
    **TABLE_ARGS,
)

username_history = sa.Table(
    "username_history",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("username", sa.String(32), nullable=False),
    sa.Column("username_clean", sa.String(32), nullable=False, index=True),
    sa.Column("changed_at", sa.DateTime(), nullable=False),
    **TABLE_ARGS,
)

# One row per (user, target): a target is either a friend or blocked, never both (as phpbb_zebra).
user_relations = sa.Table(
    "user_relations",
    metadata,
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "target_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    sa.Column("relation", sa.String(8), nullable=False),  # "friend" | "block"
    sa.Column("created_at", sa.DateTime(), nullable=False),
    **TABLE_ARGS,
)

# API v1 keys: only the sha256 of the key is stored; `k` is hashed and looked up.
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("last_used_at", sa.DateTime(), nullable=True),
    **TABLE_ARGS,
)
