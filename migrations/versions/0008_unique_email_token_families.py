"""one account per e-mail (users.email_clean, unique), OAuth token families and PKCE challenges

Before changing anything the upgrade looks for accounts that already share an e-mail address
or a username, case-insensitively (and, on MySQL, by the column's collation too); if there are
any, it stops with the list, so the operator can merge or change them and run it again.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


class DuplicateAccounts(RuntimeError):
    """Accounts that a unique index would refuse; the message lists them."""


def _clean_email(email: str) -> str:
    # core.users.store.clean_email at the time of this revision.
    return email.strip().lower()


def _groups(rows: Sequence[tuple[int, str, str]]) -> dict[frozenset[int], str]:
    """(id, value, comparison key) rows -> each set of ids sharing a key, listed."""
    by_key: dict[str, list[tuple[int, str]]] = {}
    for user_id, value, key in rows:
        by_key.setdefault(key, []).append((user_id, value))
    return {
        frozenset(i for i, _ in found): ", ".join(f"#{i} {v!r}" for i, v in sorted(found))
        for found in by_key.values()
        if len(found) > 1
    }


def _duplicates(conn: sa.Connection) -> list[str]:
    users = sa.table("users", sa.column("id"), sa.column("email"), sa.column("username_clean"))
    rows = conn.execute(sa.select(users.c.id, users.c.email, users.c.username_clean)).all()
    with_email = [(int(r[0]), str(r[1])) for r in rows if r[1] is not None]
    emails = _groups([(i, e, _clean_email(e)) for i, e in with_email])
    if conn.dialect.name == "mysql":
        # The unique index compares by the column's collation, which equates more than lower()
        # does (accents, for one): group by the database's own comparison as well.
        by_collation = conn.execute(
            sa.select(sa.func.group_concat(users.c.id))
            .where(users.c.email.is_not(None))
            .group_by(sa.func.trim(users.c.email))
            .having(sa.func.count() > 1)
        ).all()
        found = dict(with_email)
        for (ids,) in by_collation:
            members = frozenset(int(i) for i in str(ids).split(","))
            if members not in emails:
                emails[members] = ", ".join(f"#{i} {found[i]!r}" for i in sorted(members))
    names = _groups([(int(r[0]), str(r[2]), str(r[2]).lower()) for r in rows])
    return [f"e-mail shared by {text}" for text in emails.values()] + [
        f"username shared by {text}" for text in names.values()
    ]


def upgrade() -> None:
    conn = op.get_bind()
    problems = _duplicates(conn)
    if problems:
        raise DuplicateAccounts(
            "These accounts share an e-mail address or username (case-insensitively); each "
            "must be unique. Change or merge them, then run the migration again:\n  "
            + "\n  ".join(problems)
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_clean", sa.String(length=254), nullable=True))
    users = sa.table("users", sa.column("id"), sa.column("email"), sa.column("email_clean"))
    for user_id, email in conn.execute(
        sa.select(users.c.id, users.c.email).where(users.c.email.is_not(None))
    ).all():
        conn.execute(
            users.update().where(users.c.id == user_id).values(email_clean=_clean_email(email))
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_email_clean"), ["email_clean"], unique=True)
    with op.batch_alter_table("oauth_access_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("family", sa.String(length=80), nullable=True))
        batch_op.create_index(batch_op.f("ix_oauth_access_tokens_family"), ["family"], unique=False)
    with op.batch_alter_table("oauth_auth_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code_challenge", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("code_challenge_method", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oauth_auth_codes", schema=None) as batch_op:
        batch_op.drop_column("code_challenge_method")
        batch_op.drop_column("code_challenge")
    with op.batch_alter_table("oauth_access_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_access_tokens_family"))
        batch_op.drop_column("family")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_email_clean"))
        batch_op.drop_column("email_clean")
