"""oauth_access_tokens.verification: a session still waiting for its second factor

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_access_tokens") as batch:
        batch.add_column(sa.Column("verification", sa.String(8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oauth_access_tokens") as batch:
        batch.drop_column("verification")
