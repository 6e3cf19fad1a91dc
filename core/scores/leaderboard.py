"""The global leaderboard of a beatmap as encoded bytes in the shared cache.

Leaderboards are read far more often than written: the unfiltered board is rendered once per
change (for no viewer) and kept as one cache value: a header (the board's version, score count,
the score ids and their users) and each score's JSON, NUL-separated (JSON text never holds a raw
NUL). A passed submission bumps the beatmap's version (one for all its rulesets), which retires
every cached rendering of it; a short TTL bounds how long a renamed user or recalculated pp may
show.

Every key a read needs is known from the request alone (`keys`): the beatmap's status, its
version, the board and, for a viewer, their pinned scores and their own entry when they are not on
the board. So the route reads them all with its token in one round trip
(`core.auth.api_route(prefetch=...)`) and checks the versions on its side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from core.cache import Read

TTL = 60.0
SEPARATOR = b"\x00"
NO_PIN = b'"current_user_attributes":{"pin":null}'
# The board of the beatmap's own ruleset, asked without `mode`.
DEFAULT = "default"


@dataclass
class Board:
    count: int
    score_ids: list[int]
    user_ids: list[int]
    parts: list[bytes]


@dataclass
class OwnEntry:
    """The viewer's best score where they are not on the cached board; None: they have none."""

    position: int
    score_id: int
    part: bytes


def _meta_key(beatmap_id: int) -> str:
    return f"scores:bm:{beatmap_id}"


async def beatmap_meta(
    cache: Any, beatmap_id: int, read: Read | None = None
) -> dict[str, int] | None:
    raw = await (read or cache.get)(_meta_key(beatmap_id))
    return None if raw is None else orjson.loads(raw)


async def store_beatmap_meta(cache: Any, meta: dict[str, Any]) -> None:
    # Short: a status change (ranked, loved, ...) shows on the board within this many seconds.
    await cache.set(_meta_key(int(meta["id"])), orjson.dumps(meta), ex=TTL)


def _version_key(beatmap_id: int) -> str:
    return f"scores:lbv:{beatmap_id}"


def _board_key(beatmap_id: int, ruleset: int | str, fmt: int, limit: int) -> str:
    return f"scores:lb:{beatmap_id}:{ruleset}:{fmt}:{limit}"


def pins_key(user_id: int) -> str:
    """The ids of every score the user has pinned (`current_user_attributes.pin`)."""
    return f"scores:pins:{user_id}"


def _own_key(user_id: int, beatmap_id: int, ruleset: int | str, fmt: int) -> str:
    return f"scores:own:{user_id}:{beatmap_id}:{ruleset}:{fmt}"


def keys(
    beatmap_id: int, ruleset: int | None, fmt: int, limit: int, viewer: int | None
) -> list[str]:
    """Every key one read of the board uses (`ruleset` None: the beatmap's own)."""
    named = DEFAULT if ruleset is None else ruleset
    found = [
        _meta_key(beatmap_id),
        _version_key(beatmap_id),
        _board_key(beatmap_id, named, fmt, limit),
    ]
    if viewer is not None:
        found += [pins_key(viewer), _own_key(viewer, beatmap_id, named, fmt)]
    return found


async def changed(cache: Any, beatmap_id: int, ruleset_id: int | None = None) -> None:
    """A board of the beatmap changed: every cached rendering of it retires (of every ruleset:
    a read without `mode` names its board before it knows the beatmap's ruleset)."""
    await cache.incr(_version_key(beatmap_id))


async def beatmap_changed(cache: Any, beatmap_id: int) -> None:
    """A beatmap's status changed: forget its cached status and retire every board of it."""
    await cache.delete(_meta_key(beatmap_id))
    await changed(cache, beatmap_id)


async def forget_pins(cache: Any, user_ids: Sequence[int]) -> None:
    """The users pinned or unpinned a score, or lost one."""
    if user_ids:
        await cache.delete(*(pins_key(u) for u in user_ids))


class Reader:
    """One request's reads of a board, through `read` (the request's prefetched values)."""

    def __init__(
        self, cache: Any, read: Read, beatmap_id: int, ruleset: int | None, fmt: int, limit: int
    ) -> None:
        self.cache = cache
        self.read = read
        self.beatmap_id = beatmap_id
        self.named: int | str = DEFAULT if ruleset is None else ruleset
        self.fmt = fmt
        self.limit = limit
        self.version = b"0"

    async def board(self) -> Board | None:
        """The cached board, if it was rendered at the current version."""
        self.version = await self.read(_version_key(self.beatmap_id)) or b"0"
        raw = await self.read(_board_key(self.beatmap_id, self.named, self.fmt, self.limit))
        if raw is None:
            return None
        head, *parts = raw.split(SEPARATOR)
        meta = orjson.loads(head)
        if str(meta["version"]).encode() != self.version:
            return None
        return Board(meta["count"], meta["score_ids"], meta["user_ids"], parts)

    async def store(self, board: Board) -> None:
        head = orjson.dumps(
            {
                "version": self.version.decode(),
                "count": board.count,
                "score_ids": board.score_ids,
                "user_ids": board.user_ids,
            }
        )
        key = _board_key(self.beatmap_id, self.named, self.fmt, self.limit)
        await self.cache.set(key, SEPARATOR.join([head, *board.parts]), ex=TTL)

    async def pins(self, user_id: int) -> set[int] | None:
        raw = await self.read(pins_key(user_id))
        return None if raw is None else set(orjson.loads(raw))

    async def store_pins(self, user_id: int, pinned: Sequence[int]) -> None:
        await self.cache.set(pins_key(user_id), orjson.dumps(sorted(pinned)), ex=TTL)

    async def own(self, user_id: int) -> tuple[bool, OwnEntry | None]:
        """(found in the cache at the current version, the entry)."""
        raw = await self.read(_own_key(user_id, self.beatmap_id, self.named, self.fmt))
        if raw is None:
            return False, None
        head, _, part = raw.partition(SEPARATOR)
        meta = orjson.loads(head)
        if str(meta["version"]).encode() != self.version:
            return False, None
        if meta.get("position") is None:
            return True, None
        return True, OwnEntry(meta["position"], meta["score_id"], part)

    async def store_own(self, user_id: int, entry: OwnEntry | None) -> None:
        head: dict[str, Any] = {"version": self.version.decode()}
        part = b""
        if entry is not None:
            head |= {"position": entry.position, "score_id": entry.score_id}
            part = entry.part
        key = _own_key(user_id, self.beatmap_id, self.named, self.fmt)
        await self.cache.set(key, orjson.dumps(head) + SEPARATOR + part, ex=TTL)


def with_pin(part: bytes, score_id: int, pinned: bool) -> bytes:
    """A cached score as its owner sees it (the pin attribute is per viewer)."""
    pin = orjson.dumps({"is_pinned": pinned, "score_id": score_id})
    return part.replace(NO_PIN, b'"current_user_attributes":{"pin":' + pin + b"}", 1)


def entry(position: int, part: bytes) -> bytes:
    """The viewer's `user_score`: their position and their score's cached JSON."""
    return b'{"position":' + str(position).encode() + b',"score":' + part + b"}"


def body(parts: Sequence[bytes], count: int, user_score: bytes | None) -> bytes:
    out = b'{"scores":[' + b",".join(parts) + b'],"score_count":' + str(count).encode()
    if user_score is not None:
        out += b',"user_score":' + user_score + b',"userScore":' + user_score
    return out + b"}"
