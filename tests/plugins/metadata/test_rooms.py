"""BeginWatchingMultiplayerRoom statistics and MultiplayerRoomScoreSet from room scores."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette

from core.config import Settings
from tests.conftest import LiveServer, create_user, issue_token
from tests.scores import support
from tests.signalr.client import HubClient


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    live = LiveServer(settings)
    live.start()
    yield live
    live.stop()


async def test_watchers_get_item_stats_and_new_room_scores(
    app: Starlette, server: LiveServer
) -> None:
    beatmap = await support.import_map(app, 0)
    user = await create_user(app, "peppy")
    token = await issue_token(app, user)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
        created = await http.post(
            "/api/v2/rooms",
            json={
                "name": "daily",
                "duration": 60,
                "playlist": [{"beatmap_id": beatmap.id, "ruleset_id": 0}],
            },
            headers=headers,
        )
        room = created.json()
        item_id = room["playlist"][0]["id"]
        watcher = await HubClient.open(server.url, "metadata", token)
        stats = (await watcher.invoke("BeginWatchingMultiplayerRoom", room["id"])).result
        assert stats == [[item_id, [0] * 13, 0, 0]]
        score_token = await http.post(
            f"/api/v2/rooms/{room['id']}/playlist/{item_id}/scores",
            data={"beatmap_id": str(beatmap.id), "ruleset_id": "0"},
            headers=headers,
        )
        payload = support.body(beatmap, total_score=250_000)
        score = (
            await http.put(
                f"/api/v2/rooms/{room['id']}/playlist/{item_id}/scores/{score_token.json()['id']}",
                json=payload,
                headers=headers,
            )
        ).json()
        event = (await watcher.callback("MultiplayerRoomScoreSet", timeout=10)).arguments[0]
        assert (event.room_id, event.playlist_item_id, event.score_id) == (
            room["id"],
            item_id,
            score["id"],
        )
        assert (event.user_id, event.total_score, event.new_rank) == (user, 250_000, 1)
        stats = (await watcher.invoke("BeginWatchingMultiplayerRoom", room["id"])).result
        distribution = [0] * 13
        distribution[2] = 1
        assert stats == [[item_id, distribution, 250_000, score["id"]]]
        await watcher.invoke("EndWatchingMultiplayerRoom", room["id"])
        await watcher.close()
