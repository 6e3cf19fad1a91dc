"""scores

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 14:49:27.289205
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rank_history",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("ruleset_id", sa.SmallInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_rank_history_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "ruleset_id", "day", name=op.f("pk_rank_history")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )
    with op.batch_alter_table("rank_history", schema=None) as batch_op:
        batch_op.create_index("ix_rank_history_day", ["day"], unique=False)

    op.create_table(
        "score_bests",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("beatmap_id", sa.BigInteger(), nullable=False),
        sa.Column("ruleset_id", sa.SmallInteger(), nullable=False),
        sa.Column("score_id", sa.BigInteger(), nullable=False),
        sa.Column("total_score", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_score_bests_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "beatmap_id", "ruleset_id", name=op.f("pk_score_bests")),
        sa.UniqueConstraint("score_id", name=op.f("uq_score_bests_score_id")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )
    with op.batch_alter_table("score_bests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_score_bests_board",
            ["beatmap_id", "ruleset_id", "total_score", "score_id"],
            unique=False,
        )

    op.create_table(
        "score_tokens",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("beatmap_id", sa.BigInteger(), nullable=False),
        sa.Column("ruleset_id", sa.SmallInteger(), nullable=False),
        sa.Column("beatmap_hash", sa.String(length=32), nullable=True),
        sa.Column("version_hash", sa.String(length=64), nullable=True),
        sa.Column("playlist_item_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("score_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_score_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_tokens")),
        sa.UniqueConstraint("score_id", name=op.f("uq_score_tokens_score_id")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )
    with op.batch_alter_table("score_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_score_tokens_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_score_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "scores",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("beatmap_id", sa.BigInteger(), nullable=False),
        sa.Column("ruleset_id", sa.SmallInteger(), nullable=False),
        sa.Column("build_id", sa.Integer(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("rank", sa.String(length=2), nullable=False),
        sa.Column("total_score", sa.BigInteger(), nullable=False),
        sa.Column("total_score_without_mods", sa.BigInteger(), nullable=True),
        sa.Column("classic_total_score", sa.BigInteger(), nullable=False),
        sa.Column("legacy_total_score", sa.BigInteger(), nullable=False),
        sa.Column("legacy_score_id", sa.BigInteger(), nullable=True),
        sa.Column("accuracy", sa.Double(), nullable=False),
        sa.Column("max_combo", sa.Integer(), nullable=False),
        sa.Column("is_perfect_combo", sa.Boolean(), nullable=False),
        sa.Column("legacy_perfect", sa.Boolean(), nullable=False),
        sa.Column("mods", sa.Text(), nullable=False),
        sa.Column("statistics", sa.Text(), nullable=False),
        sa.Column("maximum_statistics", sa.Text(), nullable=False),
        sa.Column("mods_key", sa.String(length=255), nullable=False),
        sa.Column("legacy_mods", sa.Integer(), nullable=False),
        sa.Column("pp", sa.Double(), nullable=True),
        sa.Column("preserve", sa.Boolean(), nullable=False),
        sa.Column("ranked", sa.Boolean(), nullable=False),
        sa.Column("processed", sa.Boolean(), nullable=False),
        sa.Column("has_replay", sa.Boolean(), nullable=False),
        sa.Column("replay_views", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_scores_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scores")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )
    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.create_index(
            "ix_scores_beatmap", ["beatmap_id", "ruleset_id", "total_score"], unique=False
        )
        batch_op.create_index("ix_scores_user_pp", ["user_id", "ruleset_id", "pp"], unique=False)
        batch_op.create_index(
            "ix_scores_user_recent", ["user_id", "ruleset_id", "ended_at"], unique=False
        )

    op.create_table(
        "user_statistics",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("ruleset_id", sa.SmallInteger(), nullable=False),
        sa.Column("ranked_score", sa.BigInteger(), nullable=False),
        sa.Column("total_score", sa.BigInteger(), nullable=False),
        sa.Column("play_count", sa.Integer(), nullable=False),
        sa.Column("play_time", sa.BigInteger(), nullable=False),
        sa.Column("count_300", sa.BigInteger(), nullable=False),
        sa.Column("count_100", sa.BigInteger(), nullable=False),
        sa.Column("count_50", sa.BigInteger(), nullable=False),
        sa.Column("count_miss", sa.BigInteger(), nullable=False),
        sa.Column("max_combo", sa.Integer(), nullable=False),
        sa.Column("grade_ss", sa.Integer(), nullable=False),
        sa.Column("grade_ssh", sa.Integer(), nullable=False),
        sa.Column("grade_s", sa.Integer(), nullable=False),
        sa.Column("grade_sh", sa.Integer(), nullable=False),
        sa.Column("grade_a", sa.Integer(), nullable=False),
        sa.Column("pp", sa.Double(), nullable=False),
        sa.Column("accuracy", sa.Double(), nullable=False),
        sa.Column("replays_watched", sa.Integer(), nullable=False),
        sa.Column("rank_highest", sa.Integer(), nullable=True),
        sa.Column("rank_highest_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_statistics_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "ruleset_id", name=op.f("pk_user_statistics")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )
    with op.batch_alter_table("user_statistics", schema=None) as batch_op:
        batch_op.create_index("ix_user_statistics_pp", ["ruleset_id", "pp"], unique=False)
        batch_op.create_index(
            "ix_user_statistics_ranked_score", ["ruleset_id", "ranked_score"], unique=False
        )

    op.create_table(
        "score_pins",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("score_id", sa.BigInteger(), nullable=False),
        sa.Column("ruleset_id", sa.SmallInteger(), nullable=False),
        sa.Column("display_order", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["score_id"],
            ["scores.id"],
            name=op.f("fk_score_pins_score_id_scores"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_score_pins_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "score_id", name=op.f("pk_score_pins")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )
    with op.batch_alter_table("score_pins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_score_pins_score_id"), ["score_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("score_pins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_score_pins_score_id"))

    op.drop_table("score_pins")
    with op.batch_alter_table("user_statistics", schema=None) as batch_op:
        batch_op.drop_index("ix_user_statistics_ranked_score")
        batch_op.drop_index("ix_user_statistics_pp")

    op.drop_table("user_statistics")
    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.drop_index("ix_scores_user_recent")
        batch_op.drop_index("ix_scores_user_pp")
        batch_op.drop_index("ix_scores_beatmap")

    op.drop_table("scores")
    with op.batch_alter_table("score_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_score_tokens_user_id"))
        batch_op.drop_index(batch_op.f("ix_score_tokens_created_at"))

    op.drop_table("score_tokens")
    with op.batch_alter_table("score_bests", schema=None) as batch_op:
        batch_op.drop_index("ix_score_bests_board")

    op.drop_table("score_bests")
    with op.batch_alter_table("rank_history", schema=None) as batch_op:
        batch_op.drop_index("ix_rank_history_day")

    op.drop_table("rank_history")
