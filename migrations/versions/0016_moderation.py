"""moderation: audit log, groups and members, badges, bans, and the reports queue's resolution

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLE = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}

# The built-in groups (core.moderation.store.BUILTIN_GROUPS, copied: a migration keeps the rows
# it shipped with whatever the code says later).
BUILTIN_GROUPS = [
    {
        "id": 1,
        "identifier": "admin",
        "name": "Administrators",
        "short_name": "ADM",
        "colour": "#E45678",
        "description": "Runs this server; may use every moderation action.",
        "has_listing": False,
        "has_playmodes": False,
        "builtin": True,
    },
    {
        "id": 4,
        "identifier": "gmt",
        "name": "Global Moderation Team",
        "short_name": "GMT",
        "colour": "#99EB47",
        "description": "Moderates chat and players; silences, restricts and handles reports.",
        "has_listing": True,
        "has_playmodes": False,
        "builtin": True,
    },
    {
        "id": 7,
        "identifier": "nat",
        "name": "Nomination Assessment Team",
        "short_name": "NAT",
        "colour": "#FA3703",
        "description": None,
        "has_listing": True,
        "has_playmodes": True,
        "builtin": True,
    },
    {
        "id": 29,
        "identifier": "bot",
        "name": "Chat Bots",
        "short_name": "BOT",
        "colour": None,
        "description": None,
        "has_listing": False,
        "has_playmodes": False,
        "builtin": True,
    },
]


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("banned", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("user_reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resolution", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("resolved_by", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("resolved_at", sa.DateTime(), nullable=True))
    op.create_table(
        "moderation_log",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_name", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_log")),
        **TABLE,
    )
    with op.batch_alter_table("moderation_log", schema=None) as batch_op:
        batch_op.create_index(op.f("ix_moderation_log_user_id"), ["user_id"], unique=False)
        batch_op.create_index(op.f("ix_moderation_log_created_at"), ["created_at"], unique=False)
    groups = op.create_table(
        "groups",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("identifier", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("short_name", sa.String(length=8), nullable=False),
        sa.Column("colour", sa.String(length=7), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("has_listing", sa.Boolean(), nullable=False),
        sa.Column("has_playmodes", sa.Boolean(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        sa.UniqueConstraint("identifier", name=op.f("uq_groups_identifier")),
        **TABLE,
    )
    assert groups is not None
    op.bulk_insert(groups, BUILTIN_GROUPS)
    op.create_table(
        "user_groups",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.Column("playmodes", sa.String(length=64), nullable=True),
        sa.Column("is_probationary", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_user_groups_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_groups_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "group_id", name=op.f("pk_user_groups")),
        **TABLE,
    )
    with op.batch_alter_table("user_groups", schema=None) as batch_op:
        batch_op.create_index(op.f("ix_user_groups_group_id"), ["group_id"], unique=False)
    op.create_table(
        "badges",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("image_url", sa.String(length=255), nullable=False),
        sa.Column("url", sa.String(length=255), nullable=False),
        sa.Column("awarded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_badges_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_badges")),
        **TABLE,
    )
    with op.batch_alter_table("badges", schema=None) as batch_op:
        batch_op.create_index(op.f("ix_badges_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    # Whole tables: on MariaDB an index a foreign key needs cannot be dropped first.
    op.drop_table("badges")
    op.drop_table("user_groups")
    op.drop_table("groups")
    op.drop_table("moderation_log")
    with op.batch_alter_table("user_reports", schema=None) as batch_op:
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("resolved_by")
        batch_op.drop_column("resolution")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("banned")
