"""mania variants: user_statistics_variants

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ARGS = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


def upgrade() -> None:
    op.create_table(
        "user_statistics_variants",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("ruleset_id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("variant", sa.String(length=8), nullable=False),
        sa.Column("pp", sa.Double(), nullable=False),
        sa.Column("accuracy", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "ruleset_id", "variant"),
        **ARGS,
    )
    op.create_index(
        "ix_user_statistics_variants_pp",
        "user_statistics_variants",
        ["ruleset_id", "variant", "pp"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("user_statistics_variants")
