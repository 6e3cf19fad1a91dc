"""Find beatmaps and sets: the database first, then the configured sources; encoded-view cache.

The database is the cache of every source: a miss asks the sources in configured order and stores
what they answer; an unsettled set from a source that refreshes is fetched again once it is older
than the source's `refresh_after`. A source that fails or is slow leaves the stored copy in place.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from loguru import logger
from starlette.applications import Starlette

from core.beatmaps import store as beatmaps_db
from core.beatmaps import views
from core.beatmaps.sources import BeatmapSource, Download, FetchedSet, ordered_sources
from core.db import utcnow
from core.rooms import listing as rooms_listing
from core.services import services

if TYPE_CHECKING:
    from core.cache import Read

Row = Mapping[str, Any]


# --- encoded-view cache --------------------------------------------------------------------


def _view_key(beatmap_id: int) -> str:
    return f"bm:v:{beatmap_id}"


def _view_checksum_key(checksum: str) -> str:
    return f"bm:vc:{checksum}"


def _set_key(set_id: int) -> str:
    return f"bm:s:{set_id}"


def set_view_key(set_id: int) -> str:
    return _set_key(set_id)


async def invalidate(
    app: Starlette, set_id: int, beatmap_ids: Sequence[int] = (), checksums: Sequence[str] = ()
) -> None:
    """Drop every cached encoding of a set and its difficulties (current and previous ones)."""
    rows = await beatmaps_db.beatmaps_of_sets(services(app).db, [set_id])
    ids = {*beatmap_ids, *(r["id"] for r in rows[set_id])}
    sums = {*checksums, *(r["checksum"] for r in rows[set_id] if r["checksum"])}
    keys = [_set_key(set_id), *map(_view_key, ids), *map(_view_checksum_key, sums)]
    await services(app).cache.delete(*keys)
    # Room playlists show these beatmaps.
    await rooms_listing.changed(services(app))


def view_key(*, checksum: str | None = None, beatmap_id: int | None = None) -> str:
    """Cache key of a beatmap's encoded view, under what a lookup names it by."""
    return _view_checksum_key(checksum) if checksum else _view_key(beatmap_id or 0)


async def cached_lookup(
    app: Starlette,
    *,
    beatmap_id: int | None = None,
    checksum: str | None = None,
    read: Read | None = None,
) -> tuple[int, int, bytes] | None:
    """(beatmap id, set id, encoded view) from the cache; the ids ride in a short prefix.
    `read`: how to read the cache, when the request fetched the key ahead."""
    key = view_key(checksum=checksum, beatmap_id=beatmap_id)
    value = await (read or services(app).cache.get)(key)
    if value is None:
        return None
    head, _, encoded = value.partition(b"|")
    found_id, _, set_id = head.partition(b",")
    return int(found_id), int(set_id), encoded


async def lookup_view(app: Starlette, beatmap: Row) -> bytes | None:
    """The encoded BeatmapExtended (+ beatmapset) of a beatmap row, cached."""
    beatmapset = await beatmaps_db.beatmapset_by_id(services(app).db, beatmap["beatmapset_id"])
    if beatmapset is None:
        return None
    encoded = views.lookup_bytes(beatmap, beatmapset, services(app).settings.public_url)
    value = f"{beatmap['id']},{beatmap['beatmapset_id']}|".encode() + encoded
    ttl = _ttl(app)
    await services(app).cache.set(_view_key(beatmap["id"]), value, ex=ttl)
    if beatmap["checksum"]:
        await services(app).cache.set(_view_checksum_key(beatmap["checksum"]), value, ex=ttl)
    return encoded


def _ttl(app: Starlette) -> float:
    from core.beatmaps.sources import beatmap_settings

    return float(beatmap_settings(services(app).settings)["cache_ttl"])


# --- lookups -------------------------------------------------------------------------------


async def find_beatmap(
    app: Starlette,
    *,
    beatmap_id: int | None = None,
    checksum: str | None = None,
    filename: str | None = None,
) -> Row | None:
    """Checksum, then filename, then id (first hit wins), asking the sources on a miss."""
    db = services(app).db
    row: Row | None = None
    if checksum:
        row = await beatmaps_db.beatmap_by_checksum(db, checksum)
    if row is None and filename:
        row = await beatmaps_db.beatmap_by_filename(db, filename)
    if row is None and beatmap_id:
        row = await beatmaps_db.beatmap_by_id(db, beatmap_id)
    if row is not None:
        if await _refresh_if_stale(app, row["beatmapset_id"]):
            row = await beatmaps_db.beatmap_by_id(db, row["id"])
        return row
    for source in ordered_sources(app):
        fetched = await _ask(
            source.lookup(app, beatmap_id=beatmap_id, checksum=checksum, filename=filename),
            source,
        )
        if fetched is not None:
            await store(app, fetched)
            for key, finder in (
                (checksum, beatmaps_db.beatmap_by_checksum),
                (filename, beatmaps_db.beatmap_by_filename),
                (beatmap_id, beatmaps_db.beatmap_by_id),
            ):
                if key:
                    row = await finder(db, key)  # type: ignore[arg-type]
                    if row is not None:
                        return row
    return None


async def find_set(app: Starlette, set_id: int) -> Row | None:
    db = services(app).db
    row = await beatmaps_db.beatmapset_by_id(db, set_id)
    if row is not None:
        if await _refresh_if_stale(app, set_id):
            row = await beatmaps_db.beatmapset_by_id(db, set_id)
        return row
    for source in ordered_sources(app):
        fetched = await _ask(source.beatmapset(app, set_id), source)
        if fetched is not None and fetched.beatmapset.get("id") == set_id:
            await store(app, fetched)
            return await beatmaps_db.beatmapset_by_id(db, set_id)
    return None


_T = TypeVar("_T")


async def _ask(call: Awaitable[_T | None], source: BeatmapSource) -> _T | None:
    """A source's answer, or None when it fails: a broken source never breaks a request."""
    try:
        return await call
    except Exception as exc:
        logger.warning("beatmap source {} failed: {!r}", source.name, exc)
        return None


async def _refresh_if_stale(app: Starlette, set_id: int) -> bool:
    row = await beatmaps_db.beatmapset_by_id(services(app).db, set_id)
    if row is None or views.settled(row):
        return False
    for source in ordered_sources(app):
        if source.name != row["origin"]:
            continue
        age = source.refresh_after(app)
        if age is None:
            return False
        if utcnow() - row["fetched_at"] < dt.timedelta(seconds=age):
            return False
        fetched = await _ask(source.beatmapset(app, set_id), source)
        if fetched is None:
            return False
        await store(app, fetched)
        return True
    return False


async def store(app: Starlette, fetched: FetchedSet) -> None:
    set_id = fetched.beatmapset["id"]
    old_ids, old_sums = await beatmaps_db.store_set(
        services(app).db, fetched.beatmapset, fetched.beatmaps
    )
    await invalidate(app, set_id, old_ids, old_sums)


async def search_sources(app: Starlette, params: Mapping[str, str]) -> int:
    """Store the sets that sources with a `search` method find for these search parameters.

    Sources are optional here (a `search(app, params) -> list[FetchedSet]` method; each bounds
    its own time). Sets already stored are left alone (refreshing them is `_refresh_if_stale`'s
    job), so the local search that follows sees each set once and its keyset cursor is stable.
    Returns how many sets were added.
    """
    added = 0
    for source in ordered_sources(app):
        finder = getattr(source, "search", None)
        if finder is None:
            continue
        found = await _ask(finder(app, params), source)
        for fetched in found or []:
            set_id = fetched.beatmapset["id"]
            if await beatmaps_db.beatmapset_by_id(services(app).db, set_id) is not None:
                continue
            await store(app, fetched)
            added += 1
    return added


# --- files ---------------------------------------------------------------------------------


def osu_key(checksum: str) -> str:
    return f"beatmaps/osu/{checksum}.osu"


async def osu_file(app: Starlette, beatmap: Row) -> bytes | None:
    """The `.osu` text of a beatmap: from storage, else from the sources (checked and kept)."""
    storage = services(app).storage
    if beatmap["osu_key"]:
        stored: bytes | None = await storage.get(beatmap["osu_key"])
        if stored is not None:
            return stored
    for source in ordered_sources(app):
        data = await _ask(source.osu_file(app, beatmap), source)
        if not data:
            continue
        checksum = hashlib.md5(data).hexdigest()
        if beatmap["checksum"] and checksum != beatmap["checksum"]:
            logger.warning(
                "source {} sent a .osu for beatmap {} whose md5 differs", source.name, beatmap["id"]
            )
            continue
        key = osu_key(checksum)
        await storage.put(key, data)
        await beatmaps_db.set_osu_key(services(app).db, beatmap["id"], key)
        return data
    return None


async def download(app: Starlette, beatmapset: Row, no_video: bool) -> Download | None:
    for source in ordered_sources(app):
        result = await _ask(source.download(app, beatmapset, no_video), source)
        if result is not None:
            return result
    return None


# --- per-user state ------------------------------------------------------------------------


def viewer_key(user_id: int, *, checksum: str | None = None, beatmap_id: int | None = None) -> str:
    """Cache key of a viewer's fields on a beatmap (`current_user_playcount`, `has_favourited`),
    under what the request names the beatmap by, its file's checksum or its id: known before the
    beatmap is found, so a lookup reads it in the same round trip as its token."""
    ident = f"sum:{checksum}" if checksum else f"id:{beatmap_id}"
    return f"bm:viewer:{user_id}:{ident}"


def viewer_state_value(playcount: int, favourited: bool | None) -> bytes:
    """What `viewer_key` holds: the play count, and the favourite (`?` when not looked up)."""
    return f"{playcount},{'?' if favourited is None else int(favourited)}".encode()


def parse_viewer_state(value: bytes | None) -> tuple[int | None, bool | None]:
    """(play count, favourited) from a `viewer_key` value; (None, None) for none."""
    if value is None:
        return None, None
    playcount, _, favourited = value.partition(b",")
    return int(playcount), None if favourited == b"?" else favourited == b"1"


async def forget_viewer_state(app: Starlette, user_id: int, beatmap_rows: Iterable[Row]) -> None:
    """Drop a viewer's cached fields on these beatmaps, under both names of each."""
    keys = [
        key
        for row in beatmap_rows
        for key in (
            viewer_key(user_id, beatmap_id=int(row["id"])),
            *([viewer_key(user_id, checksum=row["checksum"])] if row["checksum"] else []),
        )
    ]
    if keys:
        await services(app).cache.delete(*keys)


async def forget_play(app: Starlette, user_id: int, beatmap_id: int) -> None:
    """A play changed the user's play count on this beatmap: drop its cached form."""
    row = await beatmaps_db.beatmap_by_id(services(app).db, beatmap_id)
    if row is not None:
        await forget_viewer_state(app, user_id, [row])


async def record_play(app: Starlette, user_id: int, beatmap_id: int, passed: bool) -> None:
    """Count a play (user, beatmap and set counters) and drop what caches them."""
    await beatmaps_db.add_playcount(services(app).db, user_id, beatmap_id, passed)
    await forget_play(app, user_id, beatmap_id)


async def set_favourite(app: Starlette, user_id: int, set_id: int, favourite: bool) -> bool:
    now = dt.datetime.fromtimestamp(services(app).clock.time(), dt.UTC).replace(
        tzinfo=None, microsecond=0
    )
    changed = await beatmaps_db.set_favourite(services(app).db, user_id, set_id, favourite, now)
    if changed:
        members = (await beatmaps_db.beatmaps_of_sets(services(app).db, [set_id])).get(set_id, [])
        await forget_viewer_state(app, user_id, members)
        # favourite_count and recent_favourites are part of the set's cached views
        await invalidate(app, set_id)
        from core.users import profiles

        # ... and favourite_beatmapset_count of the user's cached profile.
        await profiles.invalidate(services(app), user_id)
    return changed
