"""Accounts: users, their previous usernames, friend/block relations and API v1 keys.

Tables here, and the SQL that reads and writes them. Handlers call these functions; the API shapes
are built in `core.users.profiles`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from databases import Database

from core.db import utcnow
from core.schema import TABLE_ARGS, metadata
from core.users import events

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(32), nullable=False),
    # Lower case with spaces as underscores: osu-web treats "a b", "A_B" as the same name.
    sa.Column("username_clean", sa.String(32), nullable=False, unique=True),
    sa.Column("email", sa.String(254), nullable=True, index=True),
    # clean_email(email): one account per address whatever its case (NULLs do not collide).
    sa.Column("email_clean", sa.String(254), nullable=True, index=True, unique=True),
    sa.Column("password_hash", sa.String(100), nullable=False),
    sa.Column("country_code", sa.String(2), nullable=False),
    sa.Column("join_date", sa.DateTime(), nullable=False),
    sa.Column("last_visit", sa.DateTime(), nullable=True),
    sa.Column("playmode", sa.SmallInteger(), nullable=False, default=0),
    sa.Column("restricted", sa.Boolean(), nullable=False, default=False),
    # A ban: restricted, and signing in is refused (core.moderation.sanctions).
    sa.Column("banned", sa.Boolean(), nullable=False, default=False),
    sa.Column("silenced_until", sa.DateTime(), nullable=True),
    sa.Column("is_bot", sa.Boolean(), nullable=False, default=False),
    sa.Column("is_deleted", sa.Boolean(), nullable=False, default=False),
    sa.Column("support_level", sa.SmallInteger(), nullable=False, default=0),
    sa.Column("has_supported", sa.Boolean(), nullable=False, default=False),
    sa.Column("pm_friends_only", sa.Boolean(), nullable=False, default=False),
    sa.Column("hide_presence", sa.Boolean(), nullable=False, default=False),
    sa.Column("title", sa.String(64), nullable=True),
    sa.Column("title_url", sa.String(255), nullable=True),
    sa.Column("profile_colour", sa.String(7), nullable=True),
    sa.Column("profile_hue", sa.SmallInteger(), nullable=True),
    sa.Column("location", sa.String(64), nullable=True),
    sa.Column("interests", sa.String(255), nullable=True),
    sa.Column("occupation", sa.String(64), nullable=True),
    sa.Column("twitter", sa.String(64), nullable=True),
    sa.Column("discord", sa.String(64), nullable=True),
    sa.Column("website", sa.String(255), nullable=True),
    # Comma-separated subset of mouse,keyboard,tablet,touch.
    sa.Column("playstyle", sa.String(64), nullable=True),
    sa.Column("page_raw", sa.Text(), nullable=True),
    sa.Column("avatar_url", sa.String(255), nullable=True),
    sa.Column("cover_url", sa.String(255), nullable=True),
    **TABLE_ARGS,
)

username_history = sa.Table(
    "username_history",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("username", sa.String(32), nullable=False),
    sa.Column("username_clean", sa.String(32), nullable=False, index=True),
    sa.Column("changed_at", sa.DateTime(), nullable=False),
    **TABLE_ARGS,
)

# One row per (user, target): a target is either a friend or blocked, never both (as phpbb_zebra).
user_relations = sa.Table(
    "user_relations",
    metadata,
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "target_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    sa.Column("relation", sa.String(8), nullable=False),  # "friend" | "block"
    sa.Column("created_at", sa.DateTime(), nullable=False),
    **TABLE_ARGS,
)

# API v1 keys: only the sha256 of the key is stored; `k` is hashed and looked up.
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("last_used_at", sa.DateTime(), nullable=True),
    **TABLE_ARGS,
)

USER_COLUMNS = [c for c in users.c if c.name != "password_hash"]
_DATETIME_FIELDS = frozenset(c.name for c in users.c if isinstance(c.type, sa.DateTime))
_BOOL_FIELDS = frozenset(c.name for c in users.c if isinstance(c.type, sa.Boolean))

RELATION_FRIEND = "friend"
RELATION_BLOCK = "block"


def clean_username(username: str) -> str:
    """The form uniqueness and lookups use: case-folded, spaces and underscores equal."""
    return username.strip().lower().replace(" ", "_")


def clean_email(email: str) -> str:
    """The form e-mail uniqueness and sign-in use: trimmed and case-folded."""
    return email.strip().lower()


def record(row: Any) -> dict[str, Any]:
    """A database row as a plain dict with plain str keys (orjson rejects quoted_name keys)."""
    return {str(k): row[k] for k in row.keys()}


def _row(row: Any) -> dict[str, Any] | None:
    if row is None:
        return None
    result = record(row)
    for name in _BOOL_FIELDS.intersection(result):
        result[name] = bool(result[name])
    return result


# --- cached encoding of a user row -------------------------------------------------------------


def encode_cached(row: Mapping[str, Any]) -> bytes:
    return orjson.dumps({k: v for k, v in row.items() if k != "password_hash"})


def decode_cached(data: bytes) -> dict[str, Any]:
    row: dict[str, Any] = orjson.loads(data)
    for name in _DATETIME_FIELDS:
        value = row.get(name)
        if isinstance(value, str):
            row[name] = dt.datetime.fromisoformat(value)
    return row


# --- reads -------------------------------------------------------------------------------------


async def get_user(db: Database, user_id: int) -> dict[str, Any] | None:
    return _row(await db.fetch_one(sa.select(*USER_COLUMNS).where(users.c.id == user_id)))


async def get_users(db: Database, ids: Sequence[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    rows = await db.fetch_all(sa.select(*USER_COLUMNS).where(users.c.id.in_(list(set(ids)))))
    return [r for r in map(_row, rows) if r is not None]


async def get_login(db: Database, username: str) -> dict[str, Any] | None:
    """Row with the password hash, by username (case-insensitive) or email."""
    query = sa.select(users).where(
        sa.or_(
            users.c.username_clean == clean_username(username),
            users.c.email_clean == clean_email(username),
        )
    )
    return _row(await db.fetch_one(query))


async def password_hash(db: Database, user_id: int) -> str | None:
    value: str | None = await db.fetch_val(
        sa.select(users.c.password_hash).where(users.c.id == user_id)
    )
    return value


async def find_by_username(
    db: Database, username: str, *, previous: bool = True
) -> dict[str, Any] | None:
    """Current username first, then (optionally) the newest matching previous username."""
    clean = clean_username(username)
    if not clean or len(clean) > 32:
        return None
    row = await db.fetch_one(sa.select(*USER_COLUMNS).where(users.c.username_clean == clean))
    if row is not None or not previous:
        return _row(row)
    owner = await db.fetch_val(
        sa.select(username_history.c.user_id)
        .where(username_history.c.username_clean == clean)
        .order_by(username_history.c.changed_at.desc(), username_history.c.id.desc())
        .limit(1)
    )
    return None if owner is None else await get_user(db, owner)


async def find_many(db: Database, keys: Sequence[str]) -> list[dict[str, Any]]:
    """Users by id or username (optional `@`), in one query each kind; unknown keys skipped."""
    # An id past 64 bits names nobody (and SQL cannot take it).
    ids = [int(k) for k in keys if k.isdecimal() and len(k) <= 18]
    names = [clean_username(k.removeprefix("@")) for k in keys if not k.isdecimal()]
    conditions = []
    if ids:
        conditions.append(users.c.id.in_(ids))
    if names:
        conditions.append(users.c.username_clean.in_([n for n in names if n]))
    if not conditions:
        return []
    rows = await db.fetch_all(sa.select(*USER_COLUMNS).where(sa.or_(*conditions)))
    return [r for r in map(_row, rows) if r is not None]


async def username_taken(db: Database, username: str, *, except_user: int | None = None) -> bool:
    clean = clean_username(username)
    query = sa.select(users.c.id).where(users.c.username_clean == clean)
    if except_user is not None:
        query = query.where(users.c.id != except_user)
    if await db.fetch_val(query) is not None:
        return True
    # A name someone used before stays theirs (osu-web keeps it reserved for its old owner).
    query = sa.select(username_history.c.user_id).where(username_history.c.username_clean == clean)
    if except_user is not None:
        query = query.where(username_history.c.user_id != except_user)
    return await db.fetch_val(query.limit(1)) is not None


async def email_taken(db: Database, email: str) -> bool:
    query = sa.select(users.c.id).where(users.c.email_clean == clean_email(email))
    return await db.fetch_val(query.limit(1)) is not None


async def previous_usernames(db: Database, user_id: int) -> list[str]:
    rows = await db.fetch_all(
        sa.select(username_history.c.username)
        .where(username_history.c.user_id == user_id)
        .order_by(username_history.c.changed_at, username_history.c.id)
    )
    seen: list[str] = []
    for name in (r["username"] for r in rows):
        if name not in seen:
            seen.append(name)
    return seen


# --- writes ------------------------------------------------------------------------------------


async def insert_user(
    db: Database,
    *,
    username: str,
    password_hash: str,
    email: str | None,
    country_code: str,
    **extra: Any,
) -> int:
    values = {
        "username": username,
        "username_clean": clean_username(username),
        "email": email,
        "email_clean": None if email is None else clean_email(email),
        "password_hash": password_hash,
        "country_code": country_code.upper(),
        "join_date": utcnow(),
        "playmode": 0,
        "restricted": False,
        "banned": False,
        "is_bot": False,
        "is_deleted": False,
        "support_level": 0,
        "has_supported": False,
        "pm_friends_only": False,
        "hide_presence": False,
    }
    values.update(extra)
    return int(await db.execute(users.insert().values(**values)))


async def update_user(db: Database, user_id: int, **values: Any) -> None:
    await db.execute(users.update().where(users.c.id == user_id).values(**values))


async def rename(db: Database, user_id: int, old_username: str, new_username: str) -> None:
    async with db.transaction():
        await db.execute(
            username_history.insert().values(
                user_id=user_id,
                username=old_username,
                username_clean=clean_username(old_username),
                changed_at=utcnow(),
            )
        )
        await update_user(
            db, user_id, username=new_username, username_clean=clean_username(new_username)
        )
        await events.username_change(db, user_id, old_username, new_username)


async def touch_last_visit(db: Database, user_id: int) -> None:
    await update_user(db, user_id, last_visit=utcnow())


# --- relations ---------------------------------------------------------------------------------


async def relations(db: Database, user_id: int, relation: str) -> list[dict[str, Any]]:
    """The user's friends or blocks, each `{target_id, mutual}` (mutual: they friended back)."""
    back = user_relations.alias("back")
    query = (
        sa.select(
            user_relations.c.target_id,
            (back.c.user_id.is_not(None)).label("mutual"),
        )
        .select_from(
            user_relations.outerjoin(
                back,
                sa.and_(
                    back.c.user_id == user_relations.c.target_id,
                    back.c.target_id == user_relations.c.user_id,
                    back.c.relation == RELATION_FRIEND,
                ),
            )
        )
        .where(user_relations.c.user_id == user_id, user_relations.c.relation == relation)
    )
    rows = await db.fetch_all(query)
    return [{"target_id": int(r["target_id"]), "mutual": bool(r["mutual"])} for r in rows]


async def relation(db: Database, user_id: int, target_id: int) -> str | None:
    value: str | None = await db.fetch_val(
        sa.select(user_relations.c.relation).where(
            user_relations.c.user_id == user_id, user_relations.c.target_id == target_id
        )
    )
    return value


async def count_relations(db: Database, user_id: int, relation: str) -> int:
    return int(
        await db.fetch_val(
            sa.select(sa.func.count())
            .select_from(user_relations)
            .where(user_relations.c.user_id == user_id, user_relations.c.relation == relation)
        )
        or 0
    )


async def set_relation(db: Database, user_id: int, target_id: int, relation: str) -> None:
    async with db.transaction():
        await delete_relation(db, user_id, target_id)
        await db.execute(
            user_relations.insert().values(
                user_id=user_id, target_id=target_id, relation=relation, created_at=utcnow()
            )
        )


async def delete_relation(
    db: Database, user_id: int, target_id: int, relation: str | None = None
) -> bool:
    query = user_relations.delete().where(
        user_relations.c.user_id == user_id, user_relations.c.target_id == target_id
    )
    if relation is not None:
        query = query.where(user_relations.c.relation == relation)
    return bool(await db.execute(query))


async def follower_count(db: Database, user_id: int) -> int:
    return int(
        await db.fetch_val(
            sa.select(sa.func.count())
            .select_from(user_relations)
            .where(
                user_relations.c.target_id == user_id,
                user_relations.c.relation == RELATION_FRIEND,
            )
        )
        or 0
    )


# --- API v1 keys -------------------------------------------------------------------------------


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


async def create_api_key(db: Database, user_id: int, name: str) -> tuple[int, str]:
    """A new key; returns (id, key). Only the hash is stored: the key is shown once."""
    key = secrets.token_hex(20)
    key_id = await db.execute(
        api_keys.insert().values(
            user_id=user_id, name=name, key_hash=hash_key(key), created_at=utcnow()
        )
    )
    return int(key_id), key


async def list_api_keys(db: Database, user_id: int) -> list[dict[str, Any]]:
    rows = await db.fetch_all(
        sa.select(api_keys.c.id, api_keys.c.name, api_keys.c.created_at, api_keys.c.last_used_at)
        .where(api_keys.c.user_id == user_id)
        .order_by(api_keys.c.id)
    )
    return [record(r) for r in rows]


async def delete_api_key(db: Database, user_id: int, key_id: int) -> bool:
    result = await db.execute(
        api_keys.delete().where(api_keys.c.id == key_id, api_keys.c.user_id == user_id)
    )
    return bool(result)


async def api_key_owner(db: Database, key: str) -> int | None:
    """The user id of a v1 key, or None; the hash lookup plus a constant-time confirmation."""
    if not key or len(key) > 128:
        return None
    digest = hash_key(key)
    row = await db.fetch_one(
        sa.select(api_keys.c.user_id, api_keys.c.key_hash).where(api_keys.c.key_hash == digest)
    )
    if row is None or not hmac.compare_digest(row["key_hash"], digest):
        return None
    return int(row["user_id"])


# --- username and password rules (osu-web UsernameValidation / PasswordValidation) ---------------

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_\[\] -]+$")


def username_errors(username: str) -> list[str]:
    errors: list[str] = []
    if len(username) < 3:
        errors.append("The requested username is too short.")
    if len(username) > 15:
        errors.append("The requested username is too long.")
    if " _" in username or "_ " in username or "  " in username or username != username.strip():
        errors.append("The requested username contains invalid spacing.")
    if not USERNAME_PATTERN.match(username or "x"):
        errors.append("The requested username contains invalid characters.")
    if " " in username and "_" in username:
        errors.append("Please use either underscores or spaces, not both!")
    return errors


def password_errors(password: str, username: str = "") -> list[str]:
    errors: list[str] = []
    if len(password) < 8:
        errors.append("New password is too short.")
    if username and username.lower() in password.lower():
        errors.append("Password may not contain username.")
    if len(set(password)) < 3:
        errors.append("Password must contain at least three different characters.")
    if len(password) > 4096:
        errors.append("New password is too long.")
    return errors


EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def email_errors(email: str) -> list[str]:
    if len(email) > 254 or not EMAIL_PATTERN.match(email):
        return ["Doesn't seem to be a valid email address."]
    return []


async def count_players(db: Database) -> int:
    """Registered accounts, not counting deleted, restricted or bot accounts."""
    query = (
        sa.select(sa.func.count())
        .select_from(users)
        .where(
            users.c.is_deleted == sa.false(),
            users.c.restricted == sa.false(),
            users.c.is_bot == sa.false(),
        )
    )
    return int(await db.fetch_val(query) or 0)
