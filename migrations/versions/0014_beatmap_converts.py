"""beatmap_converts: an osu! difficulty's star rating, max combo and cs in taiko, catch and mania

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "beatmap_converts",
        sa.Column("beatmap_id", sa.BigInteger(), nullable=False),
        sa.Column("ruleset", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("checksum", sa.String(32), nullable=False),
        sa.Column("difficulty_rating", sa.Float(), nullable=False),
        sa.Column("max_combo", sa.Integer(), nullable=False),
        sa.Column("cs", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["beatmap_id"],
            ["beatmaps.id"],
            name=op.f("fk_beatmap_converts_beatmap_id_beatmaps"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("beatmap_id", "ruleset", name=op.f("pk_beatmap_converts")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )


def downgrade() -> None:
    op.drop_table("beatmap_converts")
