"""Score buffers: the frames streamed under a score token, kept in the cache until the replay.

Any worker can finish a buffer: the one that saw `EndPlaySessionV2` or the one that stored the
score, whichever comes second (where ppy/osu-server-spectator's Hubs/ScoreUploader.cs waits for
the score). Keys, all expiring `buffer_ttl` seconds after the last write (so a play that never
completes is discarded):

    spectator:score:<token>   hash: user_id, beatmap_id, ruleset_id, pauses, ended, bytes
    spectator:frames:<token>  hash: running byte total (zero-padded, so it sorts) -> packed frames
    spectator:replay:<token>  set once by the worker that writes the replay
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import orjson
from loguru import logger

from core.beatmaps import store as beatmaps_db
from core.config import Key, Section, Settings, positive
from core.scores import store as scores_db
from core.services import services
from core.users import store as users_db
from plugins.spectator import replay

SECTION = Section(
    "spectator",
    (
        Key(
            "buffer_ttl",
            300.0,
            "Seconds a score buffer lives without new frames before it is discarded.",
            check=positive,
        ),
        # 20 bytes a frame; later frames are not recorded.
        Key("max_replay_bytes", 8 * 1024 * 1024, "Frame data kept per score.", min=0),
        Key("max_watched_users", 256, "Users one connection may watch at once.", min=1),
    ),
    "The spectator hub.",
)


def spectator_settings(settings: Settings) -> dict[str, Any]:
    return SECTION.read(settings)


def _meta(token: int) -> str:
    return f"spectator:score:{token}"


def _frames(token: int) -> str:
    return f"spectator:frames:{token}"


def _done(token: int) -> str:
    return f"spectator:replay:{token}"


class ScoreBuffers:
    def __init__(self, app: Any) -> None:
        self.app = app
        config = spectator_settings(services(app).settings)
        self.ttl = float(config["buffer_ttl"])
        self.max_bytes = int(config["max_replay_bytes"])

    @property
    def cache(self) -> Any:
        return services(self.app).cache

    async def open(self, token: int, user_id: int, beatmap_id: int, ruleset_id: int) -> bool:
        """Start (or, after a reconnect, resume) the buffer of `token`; False if it cannot be."""
        cache = self.cache
        if await cache.exists(_done(token)):
            return False
        owner = await cache.hget(_meta(token), "user_id")
        if owner is not None and int(owner) != user_id:
            return False
        if owner is None:
            await cache.delete(_frames(token))
        else:
            await cache.hdel(_meta(token), "ended")
        await cache.hset(
            _meta(token),
            {"user_id": user_id, "beatmap_id": beatmap_id, "ruleset_id": ruleset_id},
        )
        await cache.expire(_meta(token), self.ttl)
        return True

    async def append(self, token: int, frames: bytes, pauses: Sequence[int] | None) -> None:
        cache = self.cache
        if frames:
            # The running total orders the chunks and bounds them in one round trip.
            total = await cache.hincrby(_meta(token), "bytes", len(frames))
            if total <= self.max_bytes:
                await cache.hset(_frames(token), {f"{total:012d}": frames})
                await cache.expire(_frames(token), self.ttl)
            elif total - len(frames) <= self.max_bytes:
                logger.warning("replay of score token {} is over the size limit", token)
        if pauses is not None:
            await cache.hset(_meta(token), {"pauses": orjson.dumps(list(pauses))})
        await cache.expire(_meta(token), self.ttl)

    async def end(self, token: int) -> None:
        """The frame stream is complete (EndPlaySessionV2 or the player left)."""
        if await self.cache.hget(_meta(token), "user_id") is None:
            return
        await self.cache.hset(_meta(token), {"ended": 1})
        await self.cache.expire(_meta(token), self.ttl)

    async def discard(self, token: int) -> None:
        await self.cache.delete(_meta(token), _frames(token))

    async def finish(self, token: int) -> int | None:
        """Write the replay if the stream ended and the score exists; the score id if written."""
        cache, db = self.cache, services(self.app).db
        meta = await cache.hgetall(_meta(token))
        if "user_id" not in meta or "ended" not in meta:
            return None
        row = await scores_db.get_token(db, token)
        if row is None or row["score_id"] is None:
            return None
        # Both the hub and the submission may get here; only one writes.
        if not await cache.set(_done(token), 1, ex=max(self.ttl, 3600.0), nx=True):
            return None
        try:
            return await self._write(token, int(row["score_id"]), meta)
        finally:
            await self.discard(token)

    async def _write(self, token: int, score_id: int, meta: dict[str, bytes]) -> int | None:
        db = services(self.app).db
        score = await scores_db.get_score(db, score_id)
        if score is None or int(score["user_id"]) != int(meta["user_id"]):
            return None
        beatmap = await beatmaps_db.beatmap_by_id(db, int(score["beatmap_id"]))
        # As the official server: replays only of passed scores on ranked, approved,
        # qualified and loved beatmaps.
        if not score["passed"] or beatmap is None or not beatmap["checksum"]:
            return None
        if int(beatmap["status"]) not in scores_db.LEADERBOARD_STATUSES:
            return None
        user = await users_db.get_user(db, int(score["user_id"]))
        chunks = await self.cache.hgetall(_frames(token))
        frames = b"".join(chunks[k] for k in sorted(chunks, key=int))
        pauses = orjson.loads(meta["pauses"]) if "pauses" in meta else []
        osu_version = None
        if beatmap["osu_key"]:
            head = await services(self.app).storage.get(beatmap["osu_key"])
            osu_version = replay.osu_format_version(head)
        data = await asyncio.to_thread(
            replay.encode,
            score,
            username=user["username"] if user else "",
            beatmap_md5=beatmap["checksum"],
            frames=frames,
            pauses=[p for p in pauses if isinstance(p, int)],
            osu_version=osu_version,
        )
        await services(self.app).storage.put(scores_db.replay_key(score_id), data)
        await scores_db.set_has_replay(db, score_id)
        return score_id
