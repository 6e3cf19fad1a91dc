"""account security: mailed keys, second factors, backup codes, trusted devices, sign-ins

Revision ID: account_security_0001
Revises:
Create Date: 2026-12-04
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "account_security_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("account_security",)
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLE: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


def upgrade() -> None:
    op.create_table(
        "account_keys",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("token_id", sa.String(80), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_keys")),
        **TABLE,
    )
    op.create_index(op.f("ix_account_keys_user_id"), "account_keys", ["user_id"])
    op.create_index(op.f("ix_account_keys_key_hash"), "account_keys", ["key_hash"])
    op.create_table(
        "account_security",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("email_required", sa.Boolean(), nullable=False),
        sa.Column("email_verified_at", sa.DateTime(), nullable=True),
        sa.Column("totp_secret", sa.String(64), nullable=True),
        sa.Column("totp_pending", sa.String(64), nullable=True),
        sa.Column("totp_enabled_at", sa.DateTime(), nullable=True),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_account_security")),
        **TABLE,
    )
    op.create_table(
        "totp_backup_codes",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_totp_backup_codes")),
        **TABLE,
    )
    op.create_index(op.f("ix_totp_backup_codes_user_id"), "totp_backup_codes", ["user_id"])
    op.create_table(
        "trusted_devices",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("device_hash", sa.String(64), nullable=False),
        sa.Column("trusted_until", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "device_hash", name=op.f("pk_trusted_devices")),
        **TABLE,
    )
    op.create_table(
        "login_history",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("ip", sa.String(45), nullable=False),
        sa.Column("country_code", sa.String(2), nullable=True),
        sa.Column("client", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_history")),
        **TABLE,
    )
    op.create_index(op.f("ix_login_history_user_id"), "login_history", ["user_id"])


def downgrade() -> None:
    for table in (
        "login_history",
        "trusted_devices",
        "totp_backup_codes",
        "account_security",
        "account_keys",
    ):
        op.drop_table(table)
