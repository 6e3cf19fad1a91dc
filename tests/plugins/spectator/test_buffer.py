"""Score buffers in the cache: completion in either order, one writer, bounds, expiry."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from core.cache import MemoryCache
from core.clock import ManualClock
from core.scores import store as scores_db
from core.services import services
from plugins.spectator import replay
from plugins.spectator.buffer import ScoreBuffers
from tests.conftest import create_user
from tests.scores import support as scores_support

from .support import bundle, eventually

FRAME = replay.FRAME.size


@pytest.fixture
def settings_overrides() -> dict[str, dict[str, Any]]:
    return {"spectator": {"max_replay_bytes": FRAME * 6, "buffer_ttl": 2.0}}


async def new_token(client: httpx.AsyncClient, token: str, beatmap: scores_support.Map) -> int:
    created = await client.post(
        f"/api/v2/beatmaps/{beatmap.id}/solo/scores",
        data={"ruleset_id": "0", "beatmap_hash": beatmap.checksum},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 200, created.text
    return int(created.json()["id"])


async def submit(
    client: httpx.AsyncClient, token: str, beatmap: scores_support.Map, score_token: int
) -> int:
    submitted = await client.put(
        f"/api/v2/beatmaps/{beatmap.id}/solo/scores/{score_token}",
        json=scores_support.body(beatmap),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert submitted.status_code == 200, submitted.text
    return int(submitted.json()["id"])


async def test_written_once_both_end_and_score_exist(
    app: Starlette, client: httpx.AsyncClient, user: int, token: str
) -> None:
    beatmap = await scores_support.import_map(app, 0)
    buffers = ScoreBuffers(app)
    score_token = await new_token(client, token, beatmap)
    assert await buffers.open(score_token, user, beatmap.id, 0)
    await buffers.append(score_token, replay.pack_frames(bundle(0, 3).frames), [])
    await buffers.append(score_token, replay.pack_frames(bundle(100, 2).frames), [7])
    assert await buffers.finish(score_token) is None  # stream still open, no score yet
    await buffers.end(score_token)
    assert await buffers.finish(score_token) is None  # no score yet

    # Submitting runs the `score_processed` hook, which finishes the buffer in the background.
    score_id = await submit(client, token, beatmap, score_token)
    storage = services(app).storage

    async def written() -> bytes | None:
        return await storage.get(scores_db.replay_key(score_id))

    data = await eventually(written)
    assert (await scores_db.get_score(services(app).db, score_id))["has_replay"] is True
    assert data.count(b"peppy") == 1
    # Written once: the buffer is gone and another attempt does nothing.
    assert await buffers.finish(score_token) is None
    assert await services(app).cache.hgetall(f"spectator:score:{score_token}") == {}
    # The token cannot be opened again once its replay exists.
    assert not await buffers.open(score_token, user, beatmap.id, 0)


async def test_racing_finishers_write_one_replay(
    app: Starlette, client: httpx.AsyncClient, user: int, token: str
) -> None:
    beatmap = await scores_support.import_map(app, 0)
    buffers = ScoreBuffers(app)
    score_token = await new_token(client, token, beatmap)
    await buffers.open(score_token, user, beatmap.id, 0)
    await buffers.append(score_token, replay.pack_frames(bundle(0, 3).frames), None)
    # The hook's own attempt runs while the stream is open: it finds nothing to do.
    score_id = await submit(client, token, beatmap, score_token)
    await asyncio.gather(*services(app).hubs["spectator"].hub._tasks)
    await buffers.end(score_token)
    results = await asyncio.gather(*(buffers.finish(score_token) for _ in range(5)))
    assert sorted(results, key=lambda r: r or 0) == [None, None, None, None, score_id]


async def test_bounds_owner_and_expiry(
    app: Starlette, client: httpx.AsyncClient, user: int, token: str, clock: ManualClock
) -> None:
    beatmap = await scores_support.import_map(app, 0)
    buffers = ScoreBuffers(app)
    score_token = await new_token(client, token, beatmap)
    other = await create_user(app, "cookiezi")
    assert await buffers.open(score_token, user, beatmap.id, 0)
    # Someone else cannot take over the buffer; the owner may resume it (a reconnect).
    assert not await buffers.open(score_token, other, beatmap.id, 0)
    assert await buffers.open(score_token, user, beatmap.id, 0)

    for start in (0, 100, 200):
        await buffers.append(score_token, replay.pack_frames(bundle(start, 3).frames), None)
    chunks = await services(app).cache.hgetall(f"spectator:frames:{score_token}")
    # 6 frames fit the limit; the third bundle is not kept.
    assert sum(len(c) for c in chunks.values()) == FRAME * 6

    # Nothing new for longer than buffer_ttl: the buffer is discarded.
    meta, frames = f"spectator:score:{score_token}", f"spectator:frames:{score_token}"
    cache = services(app).cache
    if isinstance(cache, MemoryCache):  # expiring on the app's clock
        clock.advance(1.9)
        assert await cache.exists(meta) and await cache.exists(frames)
        clock.advance(0.1)
    else:  # Redis expires them on its own clock: watch for it, briefly and often
        assert 0 < (await cache.ttl(meta) or 0) <= 2.0
        assert 0 < (await cache.ttl(frames) or 0) <= 2.0
        deadline = asyncio.get_running_loop().time() + 5
        while await cache.exists(meta) or await cache.exists(frames):
            assert asyncio.get_running_loop().time() < deadline, "the buffer never expired"
            await asyncio.sleep(0.02)
    assert await services(app).cache.hgetall(f"spectator:score:{score_token}") == {}
    assert await services(app).cache.hgetall(f"spectator:frames:{score_token}") == {}
    await buffers.end(score_token)  # ending a discarded buffer does not bring it back
    assert await services(app).cache.hgetall(f"spectator:score:{score_token}") == {}


async def test_no_replay_for_failed_scores_or_unranked_maps(
    app: Starlette, client: httpx.AsyncClient, user: int, token: str
) -> None:
    pending = await scores_support.import_map(app, 0, status="pending", set_id=7050)
    buffers = ScoreBuffers(app)
    score_token = await new_token(client, token, pending)
    await buffers.open(score_token, user, pending.id, 0)
    await buffers.append(score_token, replay.pack_frames(bundle(0, 3).frames), None)
    await buffers.end(score_token)
    score_id = await submit(client, token, pending, score_token)
    assert await buffers.finish(score_token) is None
    assert await services(app).storage.get(scores_db.replay_key(score_id)) is None
    assert (await scores_db.get_score(services(app).db, score_id))["has_replay"] is False
