"""map feedback: set ratings, tags and tag votes, beatmap packs, beatmapset events

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ARGS = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


def upgrade() -> None:
    op.create_table(
        "beatmapset_ratings",
        sa.Column("beatmapset_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["beatmapset_id"],
            ["beatmapsets.id"],
            name=op.f("fk_beatmapset_ratings_beatmapset_id_beatmapsets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_beatmapset_ratings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("beatmapset_id", "user_id", name=op.f("pk_beatmapset_ratings")),
        **ARGS,
    )
    op.create_table(
        "beatmap_tags",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("ruleset_id", sa.SmallInteger(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_beatmap_tags")),
        sa.UniqueConstraint("name", name=op.f("uq_beatmap_tags_name")),
        **ARGS,
    )
    op.create_table(
        "beatmap_tag_votes",
        sa.Column("beatmap_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tag_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tag_id"],
            ["beatmap_tags.id"],
            name=op.f("fk_beatmap_tag_votes_tag_id_beatmap_tags"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_beatmap_tag_votes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "beatmap_id", "tag_id", "user_id", name=op.f("pk_beatmap_tag_votes")
        ),
        **ARGS,
    )
    op.create_table(
        "beatmap_packs",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("tag", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("ruleset_id", sa.SmallInteger(), nullable=True),
        sa.Column("no_diff_reduction", sa.Boolean(), nullable=False),
        sa.Column("url", sa.String(512), nullable=False),
        sa.Column("date", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_beatmap_packs")),
        sa.UniqueConstraint("tag", name=op.f("uq_beatmap_packs_tag")),
        **ARGS,
    )
    op.create_table(
        "beatmap_pack_items",
        sa.Column("pack_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("beatmapset_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["pack_id"],
            ["beatmap_packs.id"],
            name=op.f("fk_beatmap_pack_items_pack_id_beatmap_packs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pack_id", "beatmapset_id", name=op.f("pk_beatmap_pack_items")),
        **ARGS,
    )
    op.create_index(
        op.f("ix_beatmap_pack_items_beatmapset_id"),
        "beatmap_pack_items",
        ["beatmapset_id"],
        unique=False,
    )
    op.create_table(
        "beatmapset_events",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("beatmapset_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_beatmapset_events")),
        **ARGS,
    )
    for column in ("beatmapset_id", "user_id", "created_at"):
        op.create_index(
            op.f(f"ix_beatmapset_events_{column}"), "beatmapset_events", [column], unique=False
        )


def downgrade() -> None:
    # Whole tables go: on MariaDB an index a foreign key needs cannot be dropped on its own.
    op.drop_table("beatmapset_events")
    op.drop_table("beatmap_pack_items")
    op.drop_table("beatmap_packs")
    op.drop_table("beatmap_tag_votes")
    op.drop_table("beatmap_tags")
    op.drop_table("beatmapset_ratings")
