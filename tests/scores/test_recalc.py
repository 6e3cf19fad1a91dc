"""core.scores.recalc: each user is recomputed whole, or not at all."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from core.beatmaps import store as beatmaps_db
from core.scores import recalc
from core.scores import store as scores_db
from core.services import services
from core.users import user_statistics
from tests.scores import support


async def pp_of(app: Starlette, score_ids: list[int]) -> list[float | None]:
    found = await scores_db.get_scores(services(app).db, score_ids)
    return [found[i]["pp"] for i in score_ids]


async def test_an_interrupted_recalc_leaves_the_user_whole(
    app: Starlette, client: Any, token: str, user: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = services(app).db
    osu = await support.import_map(app, 0, status="pending", set_id=7500)
    taiko = await support.import_map(app, 1, status="pending", set_id=7600)
    ids = [
        (await support.submit(client, token, m, support.body(m))).json()["id"] for m in (osu, taiko)
    ]
    assert await pp_of(app, ids) == [None, None]
    # Both maps become ranked behind the server's back; the recalc dies on the second ruleset,
    # after the first one's pp and statistics were written.
    await db.execute(
        sa.update(beatmaps_db.beatmaps)
        .where(beatmaps_db.beatmaps.c.id.in_([osu.id, taiko.id]))
        .values(status=1)
    )
    real = user_statistics.recompute

    async def dies_on_taiko(db: Any, user_id: int, ruleset_id: int) -> dict[str, Any]:
        if ruleset_id == 1:
            raise KeyboardInterrupt
        return await real(db, user_id, ruleset_id)

    monkeypatch.setattr(user_statistics, "recompute", dies_on_taiko)
    with pytest.raises(KeyboardInterrupt):
        await recalc.recalc(app, user_ids=[user])
    assert await pp_of(app, ids) == [None, None]
    assert (await user_statistics.rows_for(db, [user], 0))[user]["pp"] == 0

    monkeypatch.setattr(user_statistics, "recompute", real)
    assert await recalc.recalc(app, user_ids=[user]) == 1
    osu_pp, taiko_pp = await pp_of(app, ids)
    assert osu_pp is not None and taiko_pp is not None and osu_pp > 0 and taiko_pp > 0
    for ruleset_id in (0, 1):
        assert (await user_statistics.rows_for(db, [user], ruleset_id))[user]["pp"] > 0


async def test_recalc_of_beatmaps_touches_only_their_players(
    app: Starlette, client: Any, token: str, user: int
) -> None:
    from tests.conftest import create_user, issue_token

    db = services(app).db
    first = await support.import_map(app, 0, status="pending", set_id=7500)
    other = await support.import_map(app, 0, status="pending", set_id=7700)
    mine = (await support.submit(client, token, first, support.body(first))).json()["id"]
    someone = await create_user(app, "someone")
    theirs = (
        await support.submit(client, await issue_token(app, someone), other, support.body(other))
    ).json()["id"]
    await db.execute(sa.update(beatmaps_db.beatmaps).values(status=1))
    assert await recalc.recalc_beatmaps(app, [first.id]) == 1
    mine_pp, theirs_pp = await pp_of(app, [mine, theirs])
    assert mine_pp is not None and mine_pp > 0
    assert theirs_pp is None
    assert await recalc.recalc_beatmaps(app, []) == 0
