"""Whole API v2 responses for beatmaps and sets, as encoded bytes, cached where they are shared.

What depends on the caller (`current_user_playcount`, `has_favourited`) is added to the cached
bytes per request; everything else is encoded once per set change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from starlette.applications import Starlette

from core.beatmaps import converts, feedback, packs, resolve, views
from core.beatmaps import store as beatmaps_db
from core.beatmaps.sources import beatmap_settings
from core.services import services

if TYPE_CHECKING:
    from core.cache import Read

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Viewer:
    """Who asks: `user_id` None for client tokens; `lazer` when the token has the `*` scope."""

    user_id: int | None = None
    lazer: bool = False

    @property
    def favourites_visible(self) -> bool:
        return self.lazer and self.user_id is not None


async def _personal(
    app: Starlette,
    viewer: Viewer,
    encoded: bytes,
    beatmap_id: int,
    set_id: int,
    key: str,
    read: Read | None = None,
) -> bytes:
    """The cached view plus the viewer's fields, themselves cached under `key` (a
    `resolve.viewer_key`; dropped when they change). `read`: how to read the cache, when the
    request fetched the key ahead (`core.auth.cached`)."""
    if viewer.user_id is None:
        return views.with_user(encoded, 0, None)
    cache = services(app).cache
    raw = await (read or cache.get)(key)
    playcount, favourited = resolve.parse_viewer_state(raw)
    if playcount is None or (viewer.favourites_visible and favourited is None):
        playcount, favourited = await beatmaps_db.viewer_state(
            services(app).db, viewer.user_id, beatmap_id, set_id, viewer.favourites_visible
        )
        if not viewer.favourites_visible:
            favourited = None
        ttl = beatmap_settings(services(app).settings)["cache_ttl"]
        await cache.set(key, resolve.viewer_state_value(playcount, favourited), ex=ttl)
    return views.with_user(encoded, playcount, favourited if viewer.favourites_visible else None)


def lookup_keys(*, checksum: str | None = None, beatmap_id: int | None = None) -> list[str]:
    """What `beatmap_by_cache` reads for anyone (the view); `viewer_key` adds the viewer's."""
    return [resolve.view_key(checksum=checksum, beatmap_id=beatmap_id)]


async def beatmap_by_cache(
    app: Starlette,
    viewer: Viewer,
    *,
    checksum: str | None = None,
    beatmap_id: int | None = None,
    read: Read | None = None,
) -> bytes | None:
    """The lookup response straight from the cache, or None on a miss."""
    cached = await resolve.cached_lookup(app, beatmap_id=beatmap_id, checksum=checksum, read=read)
    if cached is None:
        return None
    found_id, set_id, encoded = cached
    key = resolve.viewer_key(viewer.user_id or 0, checksum=checksum, beatmap_id=beatmap_id)
    return await _personal(app, viewer, encoded, found_id, set_id, key, read)


async def beatmap(
    app: Starlette, viewer: Viewer, row: Row, checksum: str | None = None
) -> bytes | None:
    """A beatmap's response; `checksum`: the one the request looked it up by, so the viewer's
    fields are cached where that request's next call reads them first."""
    cached = await resolve.cached_lookup(app, beatmap_id=row["id"])
    encoded: bytes | None
    if cached is not None:
        encoded = cached[2]
    else:
        encoded = await resolve.lookup_view(app, row)
        if encoded is None:
            return None
    key = resolve.viewer_key(
        viewer.user_id or 0, checksum=checksum or None, beatmap_id=None if checksum else row["id"]
    )
    return await _personal(app, viewer, encoded, row["id"], row["beatmapset_id"], key)


async def beatmaps(app: Starlette, viewer: Viewer, ids: Sequence[int]) -> bytes:
    """`{"beatmaps": [...]}` ordered by id; unknown ids are left out."""
    rows = await beatmaps_db.beatmaps_by_ids(services(app).db, ids)
    parts: list[bytes] = []
    for row in rows:
        if row["deleted_at"] is not None:
            continue
        encoded = await beatmap(app, viewer, row)
        if encoded is not None:
            parts.append(encoded)
    return b'{"beatmaps":[' + b",".join(parts) + b"]}"


def _set_full(
    app: Starlette,
    beatmapset: Row,
    rows: Sequence[Row],
    owner_user: Mapping[str, Any],
    favourites: list[dict[str, Any]],
    converted: Mapping[tuple[int, int], Row],
    top_tags: Mapping[int, list[dict[str, int]]],
    pack_tags: list[str],
) -> dict[str, Any]:
    public_url = services(app).settings.public_url
    out = views.beatmapset_extended(beatmapset, [r["mode"] for r in rows])
    maps = []
    for row in rows:
        item = views.beatmap_includes(views.beatmap_extended(row, public_url), row, beatmapset)
        item["top_tag_ids"] = top_tags.get(row["id"], [])
        item["current_user_tag_ids"] = []
        item["current_user_playcount"] = 0
        maps.append(item)
    out["beatmaps"] = maps
    out["converts"] = converts.items(rows, converted, beatmapset, public_url)
    for item in out["converts"]:
        item["top_tag_ids"] = top_tags.get(item["id"], [])
    out["current_nominations"] = []
    out["description"] = {"description": beatmapset["description"] or ""}
    out["genre"] = {
        "id": beatmapset["genre_id"],
        "name": views.GENRES.get(beatmapset["genre_id"], "Unspecified"),
    }
    out["language"] = {
        "id": beatmapset["language_id"],
        "name": views.LANGUAGES.get(beatmapset["language_id"], "Unspecified"),
    }
    out["pack_tags"] = pack_tags
    out["ratings"] = views.ratings(beatmapset)
    out["recent_favourites"] = favourites
    out["related_tags"] = []
    out["related_users"] = [owner_user]
    out["user"] = owner_user
    out["version_count"] = 0
    return out


async def _owner(app: Starlette, beatmapset: Row) -> dict[str, Any]:
    """The mapper as a User: a local account for imported sets, else built from the set."""
    if beatmapset["origin"] == "local" and beatmapset["user_id"] > 0:
        from core.users import profiles
        from core.users import store as users_db

        row = await users_db.get_user(services(app).db, int(beatmapset["user_id"]))
        if row is not None and not row["restricted"]:
            return profiles.user_compact(row, profiles.accounts_settings(services(app).settings))
    return views.stub_user(beatmapset["user_id"], beatmapset["creator"])


async def _recent_favourites(app: Starlette, set_id: int) -> list[dict[str, Any]]:
    """Up to 50 users who favourited the set, newest first; restricted accounts left out.

    The set's cached view is dropped on every favourite change (`resolve.set_favourite`)."""
    from core.users import profiles
    from core.users import store as users_db

    db = services(app).db
    ids = await beatmaps_db.recent_favourite_user_ids(db, set_id)
    rows = {r["id"]: r for r in await users_db.get_users(db, ids)}
    conf = profiles.accounts_settings(services(app).settings)
    return [
        profiles.user_compact(rows[i], conf) for i in ids if i in rows and not rows[i]["restricted"]
    ]


async def beatmapset(app: Starlette, viewer: Viewer, beatmapset: Row) -> bytes:
    """BeatmapsetExtended with the includes of `GET /beatmapsets/{id}`."""
    cache = services(app).cache
    key = resolve.set_view_key(beatmapset["id"])
    encoded: bytes | None = await cache.get(key)
    if encoded is None:
        rows = (await beatmaps_db.beatmaps_of_sets(services(app).db, [beatmapset["id"]]))[
            beatmapset["id"]
        ]
        owner = await _owner(app, beatmapset)
        favourites = await _recent_favourites(app, beatmapset["id"])
        converted = await converts.ensure(app, rows)
        db = services(app).db
        top_tags = await feedback.top_tags(db, [r["id"] for r in rows])
        pack_tags = (await packs.tags_of_sets(db, [beatmapset["id"]]))[beatmapset["id"]]
        encoded = orjson.dumps(
            _set_full(app, beatmapset, rows, owner, favourites, converted, top_tags, pack_tags)
        )
        ttl = beatmap_settings(services(app).settings)["cache_ttl"]
        await cache.set(key, encoded, ex=ttl)
    if viewer.user_id is None:
        return encoded
    data = orjson.loads(encoded)
    ids = [b["id"] for b in data["beatmaps"]]
    counts = await beatmaps_db.user_playcounts(services(app).db, viewer.user_id, ids)
    voted = await feedback.user_tag_ids(services(app).db, viewer.user_id, ids)
    for item in data["beatmaps"]:
        item["current_user_playcount"] = counts.get(item["id"], 0)
        item["current_user_tag_ids"] = voted.get(item["id"], [])
    if viewer.favourites_visible:
        data["has_favourited"] = await beatmaps_db.has_favourited(
            services(app).db, viewer.user_id, beatmapset["id"]
        )
    return orjson.dumps(data)


async def search_sets(app: Starlette, viewer: Viewer, rows: Sequence[Row]) -> list[dict[str, Any]]:
    """BeatmapsetExtended + `beatmaps` (with `max_combo`) + `pack_tags` for search results."""
    db = services(app).db
    ids = [r["id"] for r in rows]
    maps = await beatmaps_db.beatmaps_of_sets(db, ids)
    favourites: set[int] = set()
    if viewer.favourites_visible and ids:
        favourites = set(await beatmaps_db.favourite_set_ids(db, viewer.user_id or 0)) & set(ids)
    public_url = services(app).settings.public_url
    tags_of = await packs.tags_of_sets(db, ids)
    out = []
    for row in rows:
        item = views.beatmapset_extended(row, [m["mode"] for m in maps[row["id"]]])
        if viewer.favourites_visible:
            item["has_favourited"] = row["id"] in favourites
        item["beatmaps"] = [
            {**views.beatmap_extended(m, public_url), "max_combo": m["max_combo"] or 0}
            for m in maps[row["id"]]
        ]
        item["pack_tags"] = tags_of.get(row["id"], [])
        out.append(item)
    return out
