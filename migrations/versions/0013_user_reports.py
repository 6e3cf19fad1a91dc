"""user_reports (POST /reports), scores looked up by legacy id and ruleset, room pp as double

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_reports",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("reporter_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("reportable_type", sa.String(length=32), nullable=False),
        sa.Column("reportable_id", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("comments", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reporter_id"],
            ["users.id"],
            name=op.f("fk_user_reports_reporter_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_reports")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )
    with op.batch_alter_table("user_reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_user_reports_reportable",
            ["reportable_type", "reportable_id", "reporter_id"],
            unique=False,
        )
        batch_op.create_index(op.f("ix_user_reports_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.create_index(
            "ix_scores_legacy_id", ["ruleset_id", "legacy_score_id"], unique=False
        )
    for table in ("room_participants", "room_item_bests"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                "pp", existing_type=sa.Float(), type_=sa.Double(), existing_nullable=False
            )


def downgrade() -> None:
    for table in ("room_participants", "room_item_bests"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                "pp", existing_type=sa.Double(), type_=sa.Float(), existing_nullable=False
            )
    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.drop_index("ix_scores_legacy_id")
    op.drop_table("user_reports")
