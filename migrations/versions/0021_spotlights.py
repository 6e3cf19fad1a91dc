"""spotlights: spotlights, spotlight_beatmapsets

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ARGS = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


def upgrade() -> None:
    op.create_table(
        "spotlights",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("mode_specific", sa.Boolean(), nullable=False),
        sa.Column("start_date", sa.DateTime(), nullable=False),
        sa.Column("end_date", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spotlights")),
        **ARGS,
    )
    op.create_table(
        "spotlight_beatmapsets",
        sa.Column("spotlight_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column(
            "beatmapset_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["beatmapset_id"],
            ["beatmapsets.id"],
            name=op.f("fk_spotlight_beatmapsets_beatmapset_id_beatmapsets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["spotlight_id"],
            ["spotlights.id"],
            name=op.f("fk_spotlight_beatmapsets_spotlight_id_spotlights"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "spotlight_id", "beatmapset_id", name=op.f("pk_spotlight_beatmapsets")
        ),
        **ARGS,
    )
    op.create_index(
        op.f("ix_spotlight_beatmapsets_beatmapset_id"),
        "spotlight_beatmapsets",
        ["beatmapset_id"],
        unique=False,
    )


def downgrade() -> None:
    # Dropping the tables drops their indexes (the foreign keys need them on MariaDB).
    op.drop_table("spotlight_beatmapsets")
    op.drop_table("spotlights")
