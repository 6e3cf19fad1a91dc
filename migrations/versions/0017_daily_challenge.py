"""daily challenge: map pool, rooms by day, user statistics

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ARGS = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


def upgrade() -> None:
    op.create_table(
        "daily_challenge_pool",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("beatmap_id", sa.BigInteger(), nullable=False),
        sa.Column("ruleset_id", sa.SmallInteger(), nullable=False),
        sa.Column("required_mods", sa.Text(), nullable=False),
        sa.Column("allowed_mods", sa.Text(), nullable=False),
        sa.Column("used_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_challenge_pool")),
        **ARGS,
    )
    op.create_index(
        op.f("ix_daily_challenge_pool_used_on"), "daily_challenge_pool", ["used_on"], unique=False
    )
    op.create_table(
        "daily_challenge_rooms",
        sa.Column("day", sa.Date(), autoincrement=False, nullable=False),
        sa.Column("room_id", sa.BigInteger(), nullable=False),
        sa.Column("finalised", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["rooms.id"],
            name=op.f("fk_daily_challenge_rooms_room_id_rooms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_daily_challenge_rooms")),
        sa.UniqueConstraint("room_id", name=op.f("uq_daily_challenge_rooms_room_id")),
        **ARGS,
    )
    op.create_table(
        "daily_challenge_user_stats",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("daily_streak_best", sa.Integer(), nullable=False),
        sa.Column("daily_streak_current", sa.Integer(), nullable=False),
        sa.Column("last_update", sa.Date(), nullable=True),
        sa.Column("last_weekly_streak", sa.Date(), nullable=True),
        sa.Column("playcount", sa.Integer(), nullable=False),
        sa.Column("top_10p_placements", sa.Integer(), nullable=False),
        sa.Column("top_50p_placements", sa.Integer(), nullable=False),
        sa.Column("weekly_streak_best", sa.Integer(), nullable=False),
        sa.Column("weekly_streak_current", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_daily_challenge_user_stats")),
        **ARGS,
    )


def downgrade() -> None:
    op.drop_table("daily_challenge_user_stats")
    op.drop_table("daily_challenge_rooms")
    op.drop_table("daily_challenge_pool")
