"""hello_greetings: the greetings of the hello hub

Revision ID: hello_0001
Revises: (its own branch "hello", after core's 0007)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "hello_0001"
# A branch of its own, so it never conflicts with core's revisions, applied after the core
# schema it was written against (core's head when it was written).
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("hello",)
depends_on: str | Sequence[str] | None = "0007"


def upgrade() -> None:
    op.create_table(
        "hello_greetings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hello_greetings")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )
    op.create_index(
        op.f("ix_hello_greetings_created_at"), "hello_greetings", ["created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_hello_greetings_created_at"), table_name="hello_greetings")
    op.drop_table("hello_greetings")
