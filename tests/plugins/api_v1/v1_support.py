"""Test material for API v1 get_replay and get_match: a stored replay, a played realtime room."""

from __future__ import annotations

import lzma
from typing import Any

import httpx
from starlette.applications import Starlette

from core.rooms import store as rooms_db
from core.scores import store as scores_db
from core.services import services
from plugins.spectator import replay
from tests.scores import support

FRAMES = [(0.0, 256.0, 192.0, 0), (16.0, 260.5, 190.25, 1), (33.0, 270.0, 180.0, 0)]


async def played_score(
    app: Starlette, client: httpx.AsyncClient, token: str, beatmap: support.Map, **body: Any
) -> dict[str, Any]:
    response = await support.submit(client, token, beatmap, support.body(beatmap, **body))
    assert response.status_code == 200, response.text
    score = await scores_db.get_score(services(app).db, int(response.json()["id"]))
    assert score is not None
    return score


async def store_replay(app: Starlette, score: dict[str, Any], username: str) -> bytes:
    """Write the score's `.osr` as the spectator hub does; returns its frame section, decoded."""
    packed = b"".join(replay.FRAME.pack(*f) for f in FRAMES)
    data = replay.encode(score, username=username, beatmap_md5="0" * 32, frames=packed)
    await services(app).storage.put(scores_db.replay_key(int(score["id"])), data)
    await scores_db.set_has_replay(services(app).db, int(score["id"]))
    return lzma.decompress(replay.compress(replay.frame_text(FRAMES)))


async def realtime_room(
    app: Starlette, host: int, beatmap: support.Map, scores: list[dict[str, Any]]
) -> tuple[int, int]:
    """A head-to-head room whose one item was played (started, then completed) by `scores`."""
    db = services(app).db
    room_id = await rooms_db.create_room(
        db, {"name": "cup: (a) vs (b)", "type": "head_to_head", "user_id": host}
    )
    item_id = await rooms_db.insert_item(
        db,
        room_id,
        {
            "owner_id": host,
            "beatmap_id": beatmap.id,
            "ruleset_id": beatmap.ruleset_id,
            "required_mods": [{"acronym": "HD"}],
        },
    )
    await rooms_db.add_event(db, room_id, "game_started", playlist_item_id=item_id)
    for score in scores:
        await rooms_db.link_score(db, room_id, item_id, score)
    await rooms_db.add_event(db, room_id, "game_completed", playlist_item_id=item_id)
    return room_id, item_id
