"""core.beatmaps.status: an operator's status change reaches the queue, the caches and the pp."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette

from core.beatmaps import status
from core.beatmaps import store as beatmaps_db
from core.services import services
from core.users import user_statistics
from tests.scores import support


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_ranking_a_set_gives_pp_and_unranking_takes_it(
    app: Starlette, client: Any, token: str, user: int
) -> None:
    db = services(app).db
    beatmap = await support.import_map(app, 0, status="pending", set_id=7400)
    score = (await support.submit(client, token, beatmap, support.body(beatmap))).json()
    assert score["pp"] is None
    # The lookup is cached as pending before the change.
    lookup = await client.get(f"/api/v2/beatmaps/lookup?id={beatmap.id}", headers=auth(token))
    assert lookup.json()["status"] == "pending"
    queued = await beatmaps_db.latest_set_update(db)

    assert await status.change_status(app, 7400, "ranked") == 1

    row = await beatmaps_db.beatmapset_by_id(db, 7400)
    assert row is not None and row["status"] == 1 and row["ranked_date"] is not None
    assert [m["status"] for m in (await beatmaps_db.beatmaps_of_sets(db, [7400]))[7400]] == [1]
    ids, _ = await beatmaps_db.set_updates_since(db, queued)
    assert ids == [7400]
    lookup = await client.get(f"/api/v2/beatmaps/lookup?id={beatmap.id}", headers=auth(token))
    assert lookup.json()["status"] == "ranked"
    board = await client.get(f"/api/v2/beatmaps/{beatmap.id}/scores", headers=auth(token))
    assert [s["id"] for s in board.json()["scores"]] == [score["id"]]
    expected = support.expected_pp(beatmap, support.body(beatmap))
    stored = await client.get(f"/api/v2/scores/{score['id']}", headers=auth(token))
    assert stored.json()["pp"] == pytest.approx(expected, rel=1e-6)
    stats = (await user_statistics.rows_for(db, [user], 0))[user]
    assert stats["pp"] > 0

    await status.change_status(app, 7400, "graveyard")
    row = await beatmaps_db.beatmapset_by_id(db, 7400)
    assert row is not None and row["status"] == -2 and row["ranked_date"] is None
    stored = await client.get(f"/api/v2/scores/{score['id']}", headers=auth(token))
    assert stored.json()["pp"] is None
    assert (await user_statistics.rows_for(db, [user], 0))[user]["pp"] == 0


async def test_an_unknown_set_changes_nothing(app: Starlette) -> None:
    db = services(app).db
    await support.import_map(app, 0, status="pending", set_id=7400)
    queued = await beatmaps_db.latest_set_update(db)
    with pytest.raises(status.UnknownSet):
        await status.change_status(app, 9_999_999, "ranked")
    assert await beatmaps_db.latest_set_update(db) == queued
    row = await beatmaps_db.beatmapset_by_id(db, 7400)
    assert row is not None and row["status"] == 0
