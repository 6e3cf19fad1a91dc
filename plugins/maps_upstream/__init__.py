"""Beatmaps from the official osu! API v2 (client credentials), fetched on a lookup miss.

Sets that are not ranked, approved or loved are fetched again once older than `refresh_after`;
`.osu` files come from `osu_mirrors` (tried in order); downloads are fetched from
`download_mirrors` (in order, failing over on error or timeout, one time budget) or else
redirect to `download_url`.
With no credentials configured the source stays silent, so the plugin is harmless when unused.
Settings: `[beatmaps_upstream]`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any

import orjson
from loguru import logger
from starlette.applications import Starlette

from core.beatmaps import archive
from core.beatmaps.sources import Download, FetchedSet
from core.beatmaps.store import STATUS_IDS
from core.config import Key, Section, Settings, http_url, positive
from core.db import utcnow
from core.hooks import hookimpl
from core.services import services

from .client import UpstreamClient, UpstreamError


def _urls(value: Any) -> str | None:
    bad = [url for url in value if http_url(url)]
    return f"expected http(s) URLs, got {bad[0]!r}" if bad else None


def _optional_url(value: Any) -> str | None:
    return http_url(value) if value else None


SECTION = Section(
    "beatmaps_upstream",
    (
        Key("base_url", "https://osu.ppy.sh", "The official osu! API.", check=http_url),
        Key("client_id", "", "OAuth client credentials; without them nothing is fetched."),
        Key("client_secret", ""),
        Key(
            "refresh_after",
            86400,
            "Seconds after which a set that is not ranked/approved/loved is fetched again.",
            min=1,
        ),
        Key(
            "timeout",
            5.0,
            "Seconds one request may wait for upstream, retries included.",
            check=positive,
        ),
        Key("retries", 3, "Attempts per request on 429/5xx.", min=1),
        Key(
            "search",
            False,
            "Merge upstream's first page into `beatmapsets/search` (first pages only).",
        ),
        Key(
            "search_timeout",
            1.0,
            "Seconds a search may wait for upstream before answering with local sets only.",
            check=positive,
        ),
        # So clients cannot hammer upstream with unknown checksums or ids.
        Key("miss_ttl", 300, "Seconds a miss is remembered.", min=1),
        Key(
            "osu_mirrors",
            ("https://osu.ppy.sh/osu/{id}",),
            "`.osu` file URLs tried in order ({id}: beatmap id).",
            check=_urls,
        ),
        Key(
            "download_mirrors",
            (),
            "`.osz` URLs fetched in order on download, failing over on error or timeout, all"
            " within one `timeout` ({id}: set id, {no_video}: 1 or 0); tried before"
            " `download_url`.",
            check=_urls,
        ),
        Key(
            "download_url",
            "",
            "Where downloads redirect ({id}: set id, {no_video}: 1 or 0) when no mirror in"
            " `download_mirrors` gave the file; empty: no redirect.",
            check=_optional_url,
        ),
    ),
    "Beatmaps from the official osu! API.",
)


def upstream_settings(settings: Settings) -> dict[str, Any]:
    return SECTION.read(settings)


@hookimpl
def settings_sections() -> list[Section]:
    return [SECTION]


# The app's upstream client, under this key of its `Services.extras` (made on first use).
CLIENT_KEY = "beatmaps_upstream"


def _make(svc: Any) -> UpstreamClient:
    config = upstream_settings(svc.settings)
    return UpstreamClient(
        config["base_url"],
        config["client_id"],
        config["client_secret"],
        retries=config["retries"],
        timeout=config["timeout"],
        clock=svc.clock,
    )


def _client(app: Starlette) -> UpstreamClient | None:
    client = _plain_client(app)
    return client if client.configured else None


def _plain_client(app: Starlette) -> UpstreamClient:
    """The client even without API credentials: mirrors need none."""
    svc = services(app)
    client = svc.extra_or_make(CLIENT_KEY, UpstreamClient, lambda: _make(svc))
    return client


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed.replace(microsecond=0)


def _status(value: Any) -> int:
    if isinstance(value, int):
        return value
    return STATUS_IDS.get(str(value).lower(), 0)


def to_rows(data: Mapping[str, Any]) -> FetchedSet:
    """An upstream BeatmapsetExtended (with `beatmaps`) as table rows."""
    now = utcnow()
    set_id = int(data["id"])
    updated = _time(data.get("last_updated")) or now
    genre = data.get("genre") or {}
    language = data.get("language") or {}
    availability = data.get("availability") or {}
    ratings = data.get("ratings")
    beatmapset = {
        "id": set_id,
        "artist": str(data.get("artist") or "")[:255],
        "artist_unicode": str(data.get("artist_unicode") or data.get("artist") or "")[:255],
        "title": str(data.get("title") or "")[:255],
        "title_unicode": str(data.get("title_unicode") or data.get("title") or "")[:255],
        "creator": str(data.get("creator") or "")[:255],
        "user_id": int(data.get("user_id") or 0),
        "source": str(data.get("source") or "")[:255],
        "tags": str(data.get("tags") or ""),
        "status": _status(data.get("status", data.get("ranked", 0))),
        "genre_id": int(data.get("genre_id") or genre.get("id") or 1),
        "language_id": int(data.get("language_id") or language.get("id") or 1),
        "bpm": float(data.get("bpm") or 0),
        "nsfw": bool(data.get("nsfw")),
        "video": bool(data.get("video")),
        "storyboard": bool(data.get("storyboard")),
        "spotlight": bool(data.get("spotlight")),
        "download_disabled": bool(availability.get("download_disabled")),
        "audio_offset": int(data.get("offset") or 0),
        "track_id": data.get("track_id"),
        "rating": float(data.get("rating") or 0),
        "ratings": orjson.dumps(ratings).decode() if isinstance(ratings, list) else None,
        "description": (data.get("description") or {}).get("description"),
        "favourite_count": int(data.get("favourite_count") or 0),
        "play_count": int(data.get("play_count") or 0),
        "submitted_date": _time(data.get("submitted_date")),
        "ranked_date": _time(data.get("ranked_date")),
        "last_updated": updated,
        "deleted_at": _time(data.get("deleted_at")),
        "origin": "upstream",
        "fetched_at": now,
        "osz_key": None,
    }
    maps = []
    for item in data.get("beatmaps") or []:
        maps.append(
            {
                "id": int(item["id"]),
                "beatmapset_id": set_id,
                "checksum": item.get("checksum"),
                "filename": None,
                "mode": int(item.get("mode_int", 0)),
                "status": _status(item.get("status", item.get("ranked", 0))),
                "version": str(item.get("version") or "")[:255],
                "user_id": int(item.get("user_id") or 0),
                "difficulty_rating": float(item.get("difficulty_rating") or 0),
                "total_length": int(item.get("total_length") or 0),
                "hit_length": int(item.get("hit_length") or 0),
                "bpm": float(item.get("bpm") or 0),
                "cs": float(item.get("cs") or 0),
                "ar": float(item.get("ar") or 0),
                "accuracy": float(item.get("accuracy") or 0),
                "drain": float(item.get("drain") or 0),
                "count_circles": int(item.get("count_circles") or 0),
                "count_sliders": int(item.get("count_sliders") or 0),
                "count_spinners": int(item.get("count_spinners") or 0),
                "max_combo": item.get("max_combo"),
                "playcount": int(item.get("playcount") or 0),
                "passcount": int(item.get("passcount") or 0),
                "last_updated": _time(item.get("last_updated")) or updated,
                "deleted_at": _time(item.get("deleted_at")),
                "osu_key": None,
            }
        )
    return FetchedSet(beatmapset=beatmapset, beatmaps=maps)


class UpstreamSource:
    name = "upstream"

    async def lookup(
        self,
        app: Starlette,
        *,
        beatmap_id: int | None = None,
        checksum: str | None = None,
        filename: str | None = None,
    ) -> FetchedSet | None:
        client = _client(app)
        if client is None:
            return None
        params = {
            k: v
            for k, v in (("checksum", checksum), ("filename", filename), ("id", beatmap_id))
            if v
        }
        if not params:
            return None
        miss = "bm:up:miss:" + hashlib.sha1(orjson.dumps(params)).hexdigest()
        if await services(app).cache.exists(miss):
            return None
        # One time budget for the lookup and the set behind it.
        deadline = client.deadline()
        beatmap = await client.api("/beatmaps/lookup", params, deadline)
        if not isinstance(beatmap, dict) or "beatmapset_id" not in beatmap:
            await services(app).cache.set(
                miss, b"1", ex=upstream_settings(services(app).settings)["miss_ttl"]
            )
            return None
        return await self.beatmapset(app, int(beatmap["beatmapset_id"]), deadline)

    async def beatmapset(
        self, app: Starlette, set_id: int, deadline: float | None = None
    ) -> FetchedSet | None:
        client = _client(app)
        if client is None:
            return None
        miss = f"bm:up:miss:set:{set_id}"
        if await services(app).cache.exists(miss):
            return None
        data = await client.api(f"/beatmapsets/{set_id}", deadline=deadline)
        if not isinstance(data, dict) or data.get("id") != set_id:
            await services(app).cache.set(
                miss, b"1", ex=upstream_settings(services(app).settings)["miss_ttl"]
            )
            return None
        return to_rows(data)

    async def search(self, app: Starlette, params: Mapping[str, str]) -> list[FetchedSet]:
        """Upstream's first page of `beatmapsets/search` for these parameters, within
        `search_timeout`; nothing unless `search` is on and credentials are set. An answer (or
        a failure) is remembered for `miss_ttl`, so repeated searches do not ask again."""
        config = upstream_settings(services(app).settings)
        client = _client(app)
        if client is None or not config["search"]:
            return []
        cache = services(app).cache
        key = "bm:up:search:" + hashlib.sha1(orjson.dumps(dict(sorted(params.items())))).hexdigest()
        if await cache.exists(key):
            return []
        await cache.set(key, b"1", ex=config["miss_ttl"])
        deadline = client.clock.monotonic() + min(config["search_timeout"], config["timeout"])
        try:
            data = await client.api("/beatmapsets/search", params, deadline)
        except UpstreamError as exc:
            logger.info("upstream search gave up: {}", exc)
            return []
        if not isinstance(data, dict) or not isinstance(data.get("beatmapsets"), list):
            return []
        found = []
        for item in data["beatmapsets"]:
            try:
                found.append(to_rows(item))
            except (KeyError, TypeError, ValueError):
                continue  # one malformed set does not spoil the page
        return found

    async def osu_file(self, app: Starlette, beatmap: Mapping[str, Any]) -> bytes | None:
        client = _client(app)
        if client is None:
            return None
        for template in upstream_settings(services(app).settings)["osu_mirrors"]:
            try:
                data = await client.file(template.format(id=beatmap["id"]))
            except UpstreamError:
                continue
            if data:
                return data
        return None

    async def download(
        self, app: Starlette, beatmapset: Mapping[str, Any], no_video: bool
    ) -> Download | None:
        config = upstream_settings(services(app).settings)
        mirrors = [
            url.format(id=beatmapset["id"], no_video=int(no_video))
            for url in config["download_mirrors"]
        ]
        client = _client(app) or _plain_client(app)
        if mirrors:
            # An archive past the import limit is refused as it streams in: the next mirror.
            data = await client.first_file(mirrors, max_bytes=archive.MAX_ARCHIVE_BYTES)
            # A mirror's error page is not an archive: only a zip counts as the file.
            if data and data.startswith(b"PK"):
                return Download(data=data, filename=f"{beatmapset['id']}.osz")
        template = config["download_url"]
        if not template:
            return None
        return Download(url=template.format(id=beatmapset["id"], no_video=int(no_video)))

    def refresh_after(self, app: Starlette) -> float | None:
        return float(upstream_settings(services(app).settings)["refresh_after"])


SOURCE = UpstreamSource()


@hookimpl
def beatmap_sources() -> list[Any]:
    return [SOURCE]


@hookimpl
async def shutdown(app: Starlette) -> None:
    client = services(app).extra(CLIENT_KEY, UpstreamClient)
    if client is not None:
        await client.close()
