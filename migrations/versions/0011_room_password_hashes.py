"""room_password_hashes: rooms.password keeps a bcrypt hash instead of the password

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

Rows stored before hold the password as sent; each is replaced by the hash
`core.auth.hash_password` makes (bcrypt over the md5 hex digest, cost 10, the default of
`[auth] bcrypt_rounds`). Live realtime rooms keep the clear password in their cache state, which
the protocol needs (core.rooms.access).
"""

import hashlib
from collections.abc import Sequence

import bcrypt
import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROUNDS = 10

rooms = sa.table("rooms", sa.column("id", sa.BigInteger()), sa.column("password", sa.String(255)))


def _hashed(value: str) -> bool:
    return value.startswith(("$2a$", "$2b$", "$2y$")) and len(value) == 60


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(rooms.c.id, rooms.c.password).where(
            rooms.c.password.is_not(None), rooms.c.password != ""
        )
    ).all()
    for room_id, password in rows:
        if _hashed(password):
            continue
        digest = hashlib.md5(password.encode("utf-8")).hexdigest().encode()
        hashed = bcrypt.hashpw(digest, bcrypt.gensalt(ROUNDS)).decode()
        bind.execute(rooms.update().where(rooms.c.id == room_id).values(password=hashed))
    # An empty string meant "no password" too.
    bind.execute(rooms.update().where(rooms.c.password == "").values(password=None))


def downgrade() -> None:
    # The passwords cannot be recovered from their hashes: rooms keep them (a downgraded server
    # compares in clear, so such a room can no longer be joined over HTTP).
    pass
