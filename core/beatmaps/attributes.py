"""Difficulty attributes of a beatmap for a ruleset and mods: cached, computed in the pool."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.applications import Starlette

from core.beatmaps import difficulty, resolve
from core.beatmaps.sources import beatmap_settings
from core.services import services

# Keyed by the file's checksum: a changed file is a different key, nothing to invalidate.
TTL = 7 * 86400


class NoFile(Exception):
    """The `.osu` file is not available from storage or any source."""


def cache_key(beatmap: Mapping[str, Any], ruleset: int, mods: list[str]) -> str:
    return f"bm:attr:{beatmap['checksum'] or beatmap['id']}:{ruleset}:{','.join(sorted(mods))}"


async def encoded(
    app: Starlette, beatmap: Mapping[str, Any], ruleset: int, mods: list[str]
) -> bytes:
    """`{"attributes": {...}}` as bytes; DifficultyError or NoFile when it cannot be computed."""
    key = cache_key(beatmap, ruleset, mods)
    cached: bytes | None = await services(app).cache.get(key)
    if cached is not None:
        return cached
    data = await resolve.osu_file(app, beatmap)
    if data is None:
        raise NoFile(beatmap["id"])
    config = beatmap_settings(services(app).settings)
    difficulty.configure(config["difficulty_workers"])
    result = await difficulty.run(
        difficulty.attributes, data, ruleset, mods, timeout=config["difficulty_timeout"]
    )
    body = orjson.dumps({"attributes": result})
    await services(app).cache.set(key, body, ex=TTL)
    return body


async def get(
    app: Starlette, beatmap: Mapping[str, Any], ruleset: int, mods: list[str]
) -> dict[str, Any]:
    attributes: dict[str, Any] = orjson.loads(await encoded(app, beatmap, ruleset, mods))[
        "attributes"
    ]
    return attributes
