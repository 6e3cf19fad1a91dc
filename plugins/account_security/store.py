"""The tables of account security: one-use keys, second factors, trusted devices."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from databases import Database

from core.db import as_row, as_rows, utcnow
from core.schema import TABLE_ARGS, plugin_metadata

metadata = plugin_metadata()

# Keys mailed for one purpose each, stored as their SHA-256; used once, short-lived.
PASSWORD_RESET = "password_reset"
EMAIL = "email"
SESSION = "session"

account_keys = sa.Table(
    "account_keys",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("user_id", sa.BigInteger(), nullable=False, index=True),
    sa.Column("purpose", sa.String(16), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, index=True),
    # For session keys: the token (jti) whose session the key verifies.
    sa.Column("token_id", sa.String(80), nullable=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("expires_at", sa.DateTime(), nullable=False),
    sa.Column("used_at", sa.DateTime(), nullable=True),
    # Wrong keys tried against this one; past the limit it is spent.
    sa.Column("attempts", sa.Integer(), nullable=False, default=0),
    **TABLE_ARGS,
)

# One row per user who verified an e-mail address or set up a second factor.
account_security = sa.Table(
    "account_security",
    metadata,
    sa.Column("user_id", sa.BigInteger(), primary_key=True, autoincrement=False),
    # Signed up while the server required a verified address; sign-in waits for it.
    sa.Column("email_required", sa.Boolean(), nullable=False, default=False),
    sa.Column("email_verified_at", sa.DateTime(), nullable=True),
    # The base32 TOTP secret once enabled; `totp_pending` between setup and the confirming code.
    sa.Column("totp_secret", sa.String(64), nullable=True),
    sa.Column("totp_pending", sa.String(64), nullable=True),
    sa.Column("totp_enabled_at", sa.DateTime(), nullable=True),
    # The last TOTP time step accepted: a code is never accepted twice.
    sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
    **TABLE_ARGS,
)

backup_codes = sa.Table(
    "totp_backup_codes",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("user_id", sa.BigInteger(), nullable=False, index=True),
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("used_at", sa.DateTime(), nullable=True),
    **TABLE_ARGS,
)

# Devices (a hash of the client address and its user agent) that verified a session lately.
trusted_devices = sa.Table(
    "trusted_devices",
    metadata,
    sa.Column("user_id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("device_hash", sa.String(64), primary_key=True),
    sa.Column("trusted_until", sa.DateTime(), nullable=False),
    **TABLE_ARGS,
)

# Every password sign-in: when, from where (address, GeoIP country), with what client.
login_history = sa.Table(
    "login_history",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("user_id", sa.BigInteger(), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("ip", sa.String(45), nullable=False),
    sa.Column("country_code", sa.String(2), nullable=True),
    sa.Column("client", sa.String(255), nullable=False),
    **TABLE_ARGS,
)

TABLES = [account_keys, account_security, backup_codes, trusted_devices, login_history]

Row = Mapping[str, Any]


# --- keys ----------------------------------------------------------------------------------


async def add_key(
    db: Database,
    user_id: int,
    purpose: str,
    key_hash: str,
    lifetime: float,
    token_id: str | None = None,
) -> None:
    """A new key for `purpose`; earlier unused keys of the same purpose (and token) stop working."""
    now = utcnow()
    async with db.transaction():
        await db.execute(
            account_keys.update()
            .where(
                account_keys.c.user_id == user_id,
                account_keys.c.purpose == purpose,
                account_keys.c.used_at.is_(None),
            )
            .values(used_at=now)
        )
        await db.execute(
            account_keys.insert().values(
                user_id=user_id,
                purpose=purpose,
                key_hash=key_hash,
                token_id=token_id,
                created_at=now,
                expires_at=now + dt.timedelta(seconds=lifetime),
                attempts=0,
            )
        )


async def live_key(db: Database, user_id: int, purpose: str) -> Row | None:
    """The user's current unused, unexpired key for `purpose`."""
    return as_row(
        await db.fetch_one(
            account_keys.select()
            .where(
                account_keys.c.user_id == user_id,
                account_keys.c.purpose == purpose,
                account_keys.c.used_at.is_(None),
                account_keys.c.expires_at > utcnow(),
            )
            .order_by(account_keys.c.id.desc())
            .limit(1)
        )
    )


async def use_key(db: Database, key_id: int) -> bool:
    """Spend a key; False when it was spent meanwhile (two requests raced)."""
    done = await db.execute(
        account_keys.update()
        .where(account_keys.c.id == key_id, account_keys.c.used_at.is_(None))
        .values(used_at=utcnow())
    )
    return bool(done)


async def count_attempt(db: Database, key_id: int, limit: int) -> None:
    """A wrong key was tried: count it, and spend the key at the limit."""
    await db.execute(
        account_keys.update()
        .where(account_keys.c.id == key_id)
        .values(attempts=account_keys.c.attempts + 1)
    )
    await db.execute(
        account_keys.update()
        .where(account_keys.c.id == key_id, account_keys.c.attempts >= limit)
        .values(used_at=utcnow())
    )


async def purge_keys(db: Database, before: dt.datetime) -> int:
    return int(
        await db.execute(account_keys.delete().where(account_keys.c.expires_at < before)) or 0
    )


# --- the per-user row ----------------------------------------------------------------------


async def security_row(db: Database, user_id: int) -> Row | None:
    return as_row(
        await db.fetch_one(account_security.select().where(account_security.c.user_id == user_id))
    )


async def update_security(db: Database, user_id: int, **values: Any) -> None:
    async with db.transaction():
        if await security_row(db, user_id) is None:
            values.setdefault("email_required", False)
            await db.execute(account_security.insert().values(user_id=user_id, **values))
        else:
            await db.execute(
                account_security.update()
                .where(account_security.c.user_id == user_id)
                .values(**values)
            )


async def claim_totp_step(db: Database, user_id: int, step: int) -> bool:
    """Accept TOTP time step `step` once: False when it (or a later one) was used already."""
    done = await db.execute(
        account_security.update()
        .where(
            account_security.c.user_id == user_id,
            sa.or_(
                account_security.c.totp_last_step.is_(None),
                account_security.c.totp_last_step < step,
            ),
        )
        .values(totp_last_step=step)
    )
    return bool(done)


# --- backup codes --------------------------------------------------------------------------


async def replace_backup_codes(db: Database, user_id: int, hashes: list[str]) -> None:
    async with db.transaction():
        await db.execute(backup_codes.delete().where(backup_codes.c.user_id == user_id))
        for code_hash in hashes:
            await db.execute(backup_codes.insert().values(user_id=user_id, code_hash=code_hash))


async def use_backup_code(db: Database, user_id: int, code_hash: str) -> bool:
    done = await db.execute(
        backup_codes.update()
        .where(
            backup_codes.c.user_id == user_id,
            backup_codes.c.code_hash == code_hash,
            backup_codes.c.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    return bool(done)


async def unused_backup_codes(db: Database, user_id: int) -> int:
    return int(
        await db.fetch_val(
            sa.select(sa.func.count())
            .select_from(backup_codes)
            .where(backup_codes.c.user_id == user_id, backup_codes.c.used_at.is_(None))
        )
        or 0
    )


# --- trusted devices -----------------------------------------------------------------------


async def trust_device(db: Database, user_id: int, device_hash: str, seconds: float) -> None:
    until = utcnow() + dt.timedelta(seconds=seconds)
    async with db.transaction():
        await db.execute(
            trusted_devices.delete().where(
                trusted_devices.c.user_id == user_id,
                trusted_devices.c.device_hash == device_hash,
            )
        )
        await db.execute(
            trusted_devices.insert().values(
                user_id=user_id, device_hash=device_hash, trusted_until=until
            )
        )


async def is_trusted(db: Database, user_id: int, device_hash: str) -> bool:
    found = await db.fetch_val(
        sa.select(trusted_devices.c.user_id).where(
            trusted_devices.c.user_id == user_id,
            trusted_devices.c.device_hash == device_hash,
            trusted_devices.c.trusted_until > utcnow(),
        )
    )
    return found is not None


async def forget_devices(db: Database, user_id: int) -> None:
    await db.execute(trusted_devices.delete().where(trusted_devices.c.user_id == user_id))


# --- login history -------------------------------------------------------------------------


async def record_login(
    db: Database, user_id: int, ip: str, country_code: str | None, client: str
) -> None:
    await db.execute(
        login_history.insert().values(
            user_id=user_id,
            created_at=utcnow(),
            ip=ip[:45],
            country_code=country_code,
            client=client[:255],
        )
    )


async def logins(db: Database, user_id: int, limit: int = 50) -> list[Row]:
    """The user's sign-ins, newest first."""
    query = (
        login_history.select()
        .where(login_history.c.user_id == user_id)
        .order_by(login_history.c.id.desc())
        .limit(limit)
    )
    return list(as_rows(await db.fetch_all(query)))
