"""teams: teams, their members and pending invitations and applications

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ARGS = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("short_name", sa.String(10), nullable=False),
        sa.Column("flag_url", sa.String(255), nullable=True),
        sa.Column("colour_primary", sa.String(7), nullable=True),
        sa.Column("colour_secondary", sa.String(7), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("leader_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("name", name=op.f("uq_teams_name")),
        sa.UniqueConstraint("short_name", name=op.f("uq_teams_short_name")),
        **ARGS,
    )
    op.create_index(op.f("ix_teams_leader_id"), "teams", ["leader_id"], unique=False)
    op.create_table(
        "team_members",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("team_id", Id, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_team_members_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_team_members")),
        **ARGS,
    )
    op.create_index(op.f("ix_team_members_team_id"), "team_members", ["team_id"], unique=False)
    op.create_table(
        "team_requests",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("team_id", Id, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_team_requests_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_requests")),
        sa.UniqueConstraint("team_id", "user_id", name=op.f("uq_team_requests_team_id_user_id")),
        **ARGS,
    )
    op.create_index(op.f("ix_team_requests_user_id"), "team_requests", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_table("team_requests")
    op.drop_table("team_members")
    op.drop_table("teams")
