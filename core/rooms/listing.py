"""`GET /api/v2/rooms` as encoded bytes in the shared cache.

The listing is read far more often than rooms change, and for most requests it is the same for
every viewer. One version counter covers every room: any write a listing shows (a room created,
edited or closed, playlist items added, edited, played or removed, participants joining, leaving
or playing, room scores and their removal) bumps it (`changed`), which retires every cached
listing at once. A cached value is a small JSON header (the version it was rendered at and the
first moment the clock alone changes the answer: a room starting or ending) and the body,
NUL-separated (JSON text never holds a raw NUL). A short TTL bounds how long a renamed host or
an edited beatmap in a playlist may show.

Both keys a read needs are named from the request alone (`keys`), so the route reads them with
its token in one round trip (`core.auth.api_route(prefetch=...)`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING

import orjson
import sqlalchemy as sa
from databases import Database

from core.db import utcnow
from core.rooms.store import rooms
from core.services import Services

if TYPE_CHECKING:
    from core.cache import Read

TTL = 30.0
SEPARATOR = b"\x00"
VERSION_KEY = "rooms:listing:version"
# Listing modes whose answer depends on who asks.
PER_VIEWER = ("participated", "owned")


def body_key(query: bytes, mode: str | None, viewer_id: int | None) -> str:
    """The cache key of one listing: its raw query string, and the viewer where the mode names
    them."""
    who = str(viewer_id) if mode in PER_VIEWER and viewer_id is not None else "-"
    digest = hashlib.blake2b(query, digest_size=12).hexdigest()
    return f"rooms:listing:{who}:{digest}"


def keys(query: bytes, mode: str | None, viewer_id: int | None) -> list[str]:
    return [VERSION_KEY, body_key(query, mode, viewer_id)]


async def changed(svc: Services) -> None:
    """Retire every cached listing: call after any write a room listing shows."""
    await svc.cache.incr(VERSION_KEY)


async def version(read: Read) -> bytes:
    return await read(VERSION_KEY) or b"0"


def fresh(raw: bytes | None, current: bytes, now: dt.datetime) -> bytes | None:
    """The cached body, if it was rendered at `current` and no room started or ended since."""
    if raw is None:
        return None
    head, _, body = raw.partition(SEPARATOR)
    meta = orjson.loads(head)
    if str(meta["version"]).encode() != current:
        return None
    until = meta["until"]
    if until is not None and now.replace(tzinfo=dt.UTC).timestamp() >= until:
        return None
    return body


async def next_change(db: Database, now: dt.datetime) -> dt.datetime | None:
    """The first moment after `now` a room starts or ends: the clock changes listings then."""
    starts = sa.select(sa.func.min(rooms.c.starts_at)).where(rooms.c.starts_at > now)
    ends = sa.select(sa.func.min(rooms.c.ends_at)).where(rooms.c.ends_at > now)
    row = await db.fetch_one(sa.select(starts.scalar_subquery(), ends.scalar_subquery()))
    times = [t for t in (row[0], row[1]) if t is not None] if row is not None else []
    return min(times, default=None)


async def store(
    svc: Services, key: str, current: bytes, until: dt.datetime | None, body: bytes
) -> None:
    stamp = None if until is None else until.replace(tzinfo=dt.UTC).timestamp()
    head = orjson.dumps({"version": current.decode(), "until": stamp})
    await svc.cache.set(key, head + SEPARATOR + body, ex=TTL)


def now() -> dt.datetime:
    """The listing's clock, as the room rows compare it (naive UTC)."""
    return utcnow()
