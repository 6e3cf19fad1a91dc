"""rooms: realtime and playlists rooms, playlist items, participants, score links, item high
scores, room events

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 15:10:21.326090
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "room_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("room_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("playlist_item_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_events")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )
    with op.batch_alter_table("room_events", schema=None) as batch_op:
        batch_op.create_index("ix_room_events_room", ["room_id", "id"], unique=False)

    op.create_table(
        "room_item_bests",
        sa.Column("playlist_item_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("room_id", sa.BigInteger(), nullable=False),
        sa.Column("score_id", sa.BigInteger(), nullable=False),
        sa.Column("total_score", sa.BigInteger(), nullable=False),
        sa.Column("accuracy", sa.Float(), nullable=False),
        sa.Column("pp", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("playlist_item_id", "user_id", name=op.f("pk_room_item_bests")),
        sa.UniqueConstraint("score_id", name=op.f("uq_room_item_bests_score_id")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )
    with op.batch_alter_table("room_item_bests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_room_item_bests_board",
            ["playlist_item_id", "total_score", "score_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_room_item_bests_room_id"), ["room_id"], unique=False)

    op.create_table(
        "rooms",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("password", sa.String(length=255), nullable=True),
        sa.Column("queue_mode", sa.String(length=32), nullable=False),
        sa.Column("auto_skip", sa.Boolean(), nullable=False),
        sa.Column("auto_start_duration", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=True),
        sa.Column("max_participants", sa.Integer(), nullable=True),
        sa.Column("participant_count", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=True),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rooms")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.create_index("ix_rooms_type_ends", ["type", "ends_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_rooms_user_id"), ["user_id"], unique=False)

    op.create_table(
        "room_participants",
        sa.Column("room_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("in_room", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("total_score", sa.BigInteger(), nullable=False),
        sa.Column("accuracy", sa.Float(), nullable=False),
        sa.Column("pp", sa.Float(), nullable=False),
        sa.Column("last_score_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["rooms.id"],
            name=op.f("fk_room_participants_room_id_rooms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("room_id", "user_id", name=op.f("pk_room_participants")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )
    with op.batch_alter_table("room_participants", schema=None) as batch_op:
        batch_op.create_index(
            "ix_room_participants_board", ["room_id", "total_score"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_room_participants_user_id"), ["user_id"], unique=False)

    op.create_table(
        "room_playlist_items",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("room_id", sa.BigInteger(), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("beatmap_id", sa.BigInteger(), nullable=False),
        sa.Column("ruleset_id", sa.SmallInteger(), nullable=False),
        sa.Column("required_mods", sa.Text(), nullable=False),
        sa.Column("allowed_mods", sa.Text(), nullable=False),
        sa.Column("freestyle", sa.Boolean(), nullable=False),
        sa.Column("expired", sa.Boolean(), nullable=False),
        sa.Column("playlist_order", sa.Integer(), nullable=True),
        sa.Column("played_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["rooms.id"],
            name=op.f("fk_room_playlist_items_room_id_rooms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_playlist_items")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )
    with op.batch_alter_table("room_playlist_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_room_playlist_items_room_id"), ["room_id"], unique=False
        )

    op.create_table(
        "room_scores",
        sa.Column("score_id", sa.BigInteger(), nullable=False),
        sa.Column("room_id", sa.BigInteger(), nullable=False),
        sa.Column("playlist_item_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["score_id"],
            ["scores.id"],
            name=op.f("fk_room_scores_score_id_scores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("score_id", name=op.f("pk_room_scores")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )
    with op.batch_alter_table("room_scores", schema=None) as batch_op:
        batch_op.create_index(
            "ix_room_scores_item_user", ["playlist_item_id", "user_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_room_scores_room_id"), ["room_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("room_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_room_scores_room_id"))
        batch_op.drop_index("ix_room_scores_item_user")

    op.drop_table("room_scores")
    with op.batch_alter_table("room_playlist_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_room_playlist_items_room_id"))

    op.drop_table("room_playlist_items")
    with op.batch_alter_table("room_participants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_room_participants_user_id"))
        batch_op.drop_index("ix_room_participants_board")

    op.drop_table("room_participants")
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rooms_user_id"))
        batch_op.drop_index("ix_rooms_type_ends")

    op.drop_table("rooms")
    with op.batch_alter_table("room_item_bests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_room_item_bests_room_id"))
        batch_op.drop_index("ix_room_item_bests_board")

    op.drop_table("room_item_bests")
    with op.batch_alter_table("room_events", schema=None) as batch_op:
        batch_op.drop_index("ix_room_events_room")

    op.drop_table("room_events")
