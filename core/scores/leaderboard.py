"""The global leaderboard of a beatmap as encoded bytes in the shared cache.

Leaderboards are read far more often than written: the unfiltered board is rendered once per
change (for no viewer) and kept as one cache value: a header (score count, the score ids and
their users) and each score's JSON, NUL-separated (JSON text never holds a raw NUL). A passed
submission bumps the board's version, which retires every cached rendering of it; a short TTL
bounds how long a renamed user or recalculated pp may show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

TTL = 60.0
SEPARATOR = b"\x00"
NO_PIN = b'"current_user_attributes":{"pin":null}'


@dataclass
class Board:
    count: int
    score_ids: list[int]
    user_ids: list[int]
    parts: list[bytes]


def _meta_key(beatmap_id: int) -> str:
    return f"scores:bm:{beatmap_id}"


async def beatmap_meta(cache: Any, beatmap_id: int) -> dict[str, int] | None:
    raw = await cache.get(_meta_key(beatmap_id))
    return None if raw is None else orjson.loads(raw)


async def store_beatmap_meta(cache: Any, meta: dict[str, Any]) -> None:
    # Short: a status change (ranked, loved, ...) shows on the board within this many seconds.
    await cache.set(_meta_key(int(meta["id"])), orjson.dumps(meta), ex=TTL)


def _version_key(beatmap_id: int, ruleset_id: int) -> str:
    return f"scores:lbv:{beatmap_id}:{ruleset_id}"


def _board_key(
    beatmap_id: int, ruleset_id: int, version: bytes | None, fmt: int, limit: int
) -> str:
    return f"scores:lb:{beatmap_id}:{ruleset_id}:{(version or b'0').decode()}:{fmt}:{limit}"


async def changed(cache: Any, beatmap_id: int, ruleset_id: int) -> None:
    await cache.incr(_version_key(beatmap_id, ruleset_id))


async def beatmap_changed(cache: Any, beatmap_id: int) -> None:
    """A beatmap's status changed: forget its cached status and retire every board of it."""
    from core.scores.scoring import RULESETS

    await cache.delete(_meta_key(beatmap_id))
    for ruleset_id in range(len(RULESETS)):
        await changed(cache, beatmap_id, ruleset_id)


async def load(
    cache: Any, beatmap_id: int, ruleset_id: int, fmt: int, limit: int
) -> tuple[str, Board | None]:
    """(cache key to store under, the cached board or None)."""
    version = await cache.get(_version_key(beatmap_id, ruleset_id))
    key = _board_key(beatmap_id, ruleset_id, version, fmt, limit)
    raw = await cache.get(key)
    if raw is None:
        return key, None
    head, *parts = raw.split(SEPARATOR)
    meta = orjson.loads(head)
    return key, Board(meta["count"], meta["score_ids"], meta["user_ids"], parts)


async def store(cache: Any, key: str, board: Board) -> None:
    head = orjson.dumps(
        {"count": board.count, "score_ids": board.score_ids, "user_ids": board.user_ids}
    )
    await cache.set(key, SEPARATOR.join([head, *board.parts]), ex=TTL)


def with_pin(part: bytes, score_id: int, pinned: bool) -> bytes:
    """A cached score as its owner sees it (the pin attribute is per viewer)."""
    pin = orjson.dumps({"is_pinned": pinned, "score_id": score_id})
    return part.replace(NO_PIN, b'"current_user_attributes":{"pin":' + pin + b"}", 1)


def body(parts: Sequence[bytes], count: int, user_score: bytes | None) -> bytes:
    out = b'{"scores":[' + b",".join(parts) + b'],"score_count":' + str(count).encode()
    if user_score is not None:
        out += b',"user_score":' + user_score + b',"userScore":' + user_score
    return out + b"}"
